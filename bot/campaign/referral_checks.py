"""Cross-field checks of a campaign's ``referral:`` section (called from `bot.campaign.checks`).

A referral reward is paid when the campaign closes (or later, when an admin releases a held
invite), so its coupon must be one of this file's coupons, marked ``reward: true`` (otherwise it
is also claimable by keyword or on joining), and still redeemable after closing. Ladders must
climb: two rungs at the same number of invites would pay twice for one step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.campaign.problems import Issue, Loc
from bot.campaign.section_checks import reward_coupon
from bot.campaign.times import TimeSpec

__all__ = ["referral"]


def referral(
    issues: list[Issue],
    section: Any,
    coupons: dict[str, Any],
    when: Callable[[TimeSpec], datetime | None],
    closes: datetime | None,
) -> None:
    """``coupons``: the file's coupon ids, each with its validated coupon (None if it did not validate)."""
    if section is None:
        return
    sides = {"inviter": section.inviter, "invitee": section.invitee}
    for side, reward in sides.items():
        _coupon(issues, ("referral", side, "coupon"), reward.coupon, coupons, when, closes)
    if not any(_pays(reward) for reward in sides.values()) and not section.ladders:
        issues.append(
            Issue(
                ("referral",),
                "set a reward: 'inviter' or 'invitee' ({coupon: …} or {points: …}), or 'ladders'",
                "container",
            )
        )
    previous = 0
    for i, rung in enumerate(section.ladders):
        loc: Loc = ("referral", "ladders", i)
        if not _pays(rung):
            issues.append(
                Issue(loc, "set 'coupon' (a coupon id of this file) or 'points', or both", "container")
            )
        if rung.invites <= previous:
            issues.append(
                Issue(
                    (*loc, "invites"),
                    f"ladders must climb: {rung.invites} invites is not above the rung before ({previous})",
                )
            )
        previous = max(previous, rung.invites)
        _coupon(issues, (*loc, "coupon"), rung.coupon, coupons, when, closes)


def _pays(reward: Any) -> bool:
    return reward.coupon is not None or bool(reward.points)


def _coupon(
    issues: list[Issue],
    loc: Loc,
    coupon_id: str | None,
    coupons: dict[str, Any],
    when: Callable[[TimeSpec], datetime | None],
    closes: datetime | None,
) -> None:
    """A referral reward coupon: known, ``reward: true``, and still redeemable once issued at closing."""
    reward_coupon(
        issues,
        loc,
        coupon_id,
        coupons,
        reward_only=" (only given as a reward, never by typing)",
        paid=("referral rewards are paid", when, closes),
    )
