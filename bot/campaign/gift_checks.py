"""Cross-field checks of the `gifts:` section (前N名下单赠礼): what it names must exist in the file.

The coupon must be one of this file's coupons and be `reward: true` (a gift coupon with a
keyword could also be claimed by typing it, and one given to newcomers would be given twice);
`products` must be codes of this file, each once.
"""

from __future__ import annotations

from typing import Any

from bot.campaign.problems import Issue
from bot.campaign.section_checks import references, reward_coupon

__all__ = ["gift_issues"]


def gift_issues(issues: list[Issue], section: Any, coupons: dict[str, Any], codes: set[str]) -> None:
    """Append the problems of a validated `gifts:` section (None: no section, nothing to check).

    `coupons`: the file's coupon ids, each with its validated coupon (None if it did not validate);
    `codes`: the file's product codes as written.
    """
    if section is None:
        return
    reward_coupon(
        issues,
        ("gifts", "coupon"),
        section.coupon,
        coupons,
        reward_only=" to be given as a gift (otherwise members could also claim it by keyword or on joining)",
    )
    references(issues, ("gifts", "products"), list(section.products), codes)
    seen: set[str] = set()
    for j, code in enumerate(section.products):
        if code in seen:
            issues.append(Issue(("gifts", "products", j), f"product code '{code}' is listed twice"))
        seen.add(code)
