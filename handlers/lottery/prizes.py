"""What a lottery pays, and paying it inside the draw's transaction (so exactly once).

A prize is one coupon of the campaign's `coupons:` (issued through the coupon store as a claim
issues it, with source `lottery`) or a number of points (credited through the points ledger,
whose (member, reason, ref) key makes a second credit a no-op). Both are written in the draw's
own transaction: if the draw commits, every winner is paid; if it rolls back, nobody is; a
repeated `/lottery draw` finds the lottery drawn and pays nothing.

A coupon prize is not counted against the coupon's keyword quota and may exceed the member's
`per_member` (it takes the member's next free slot): a prize is a prize. It is only worth
something while the campaign's coupons are redeemable, so it must be drawn before the close.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from bot.campaign.models import Campaign, Coupon
from bot.context import Services
from handlers.coupons.rewards import issue_reward
from handlers.coupons.store import CouponSpec
from handlers.points.ledger import points_of

POINTS_RE = re.compile(r"^(\d{1,7})\s*(?:积分|分|points?)$", re.IGNORECASE)
POINTS_REASON = "lottery"


@dataclass(frozen=True)
class Prize:
    """A coupon id of the campaign, or a number of points (exactly one of the two)."""

    coupon_id: str = ""
    points: int = 0

    @property
    def is_points(self) -> bool:
        return self.points > 0


def parse_prize(text: str, campaign: Campaign) -> Prize | None:
    """`20积分` / `20分` / `20points`, or one of the campaign's coupon ids; None for anything else."""
    found = POINTS_RE.match(text.strip())
    if found:
        points = int(found.group(1))
        return Prize(points=points) if points > 0 else None
    coupon = coupon_of(campaign, text.strip())
    return Prize(coupon_id=coupon.id) if coupon is not None else None


def coupon_of(campaign: Campaign, coupon_id: str) -> Coupon | None:
    return next((c for c in campaign.coupons if c.id == coupon_id), None)


def points_ref(lottery_id: int) -> str:
    return f"lottery:{lottery_id}"


def pay_in(
    conn: Connection,
    services: Services,
    prize: Prize,
    spec: CouponSpec | None,
    *,
    lottery_id: int,
    campaign_id: str,
    group_id: str,
    member_id: str,
    now: datetime,
) -> str:
    """Pay one winner in the caller's transaction; what was paid (a coupon code, or the ledger ref)."""
    if prize.is_points:
        ref = points_ref(lottery_id)
        points_of(services).credit_in(
            conn,
            member_id,
            prize.points,
            POINTS_REASON,
            ref,
            now=now,
            campaign_id=campaign_id,
            group_id=group_id,
        )
        return ref
    if spec is None:
        raise ValueError("a coupon prize needs the coupon's terms")
    return issue_reward(conn, spec, member_id, group_id, now)


__all__ = ["POINTS_REASON", "Prize", "coupon_of", "parse_prize", "pay_in", "points_ref"]
