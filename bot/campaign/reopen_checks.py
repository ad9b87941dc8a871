"""Cross-field checks of the ``reopen:`` section (限时返场), called from `bot.campaign.checks`.

The model checks each value alone (a positive window, buy/get at least 1, a price that is
money or a percentage); these need the rest of the file: the reopen starts at or after closing
(it sells what the sale left), names only products of this file, and never charges more than
the sale did (a 返场 dearer than the sale would contradict the post that calls it a 返场).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.campaign.problems import Issue
from bot.campaign.section_checks import did_you_mean, references
from bot.campaign.times import TimeSpec, to_utc

__all__ = ["reopen"]


def reopen(
    issues: list[Issue],
    section: Any,
    when: Callable[[TimeSpec], datetime | None],
    closes: datetime | None,
    prices: dict[str, int],
) -> None:
    """Checks of a validated ``reopen:`` section.

    ``prices``: each product code of the file with its sale price in fen (-1 when the product
    did not validate: its code is known, its price is not).
    """
    if section is None:
        return
    at = when(section.at)
    if at is not None and closes is not None and to_utc(at) < to_utc(closes):
        issues.append(
            Issue(
                ("reopen", "at"),
                f"the reopen at {section.at} ({at:%Y-%m-%d %H:%M}) must be at or after closing "
                f"({closes:%Y-%m-%d %H:%M}); e.g. 'C+1d'",
            )
        )
    if isinstance(section.price, dict):
        for code, amount in section.price.items():
            loc = ("reopen", "price", code)
            if code not in prices:
                hint = did_you_mean(code, prices, "known codes")
                issues.append(Issue(loc, f"unknown product code '{code}'{hint}", "key"))
            elif prices[code] >= 0 and int(amount * 100) > prices[code]:
                sale = prices[code] / 100
                message = f"{amount:.2f} is above the sale price of {code} ({sale:.2f}); a 返场 is not dearer"
                issues.append(Issue(loc, message))
    references(issues, ("reopen", "recommend_products"), section.recommend_products, set(prices))
