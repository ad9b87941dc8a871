"""Referral figures for /stats and `tuanbot report` (`bot.feature.FeatureFigures`).

Counted from the invites and payouts of one campaign, in its groups (None: all groups):
invites recorded, credited, held (still waiting for an admin), rejected by an admin, and the
rewards paid for them (coupons issued, points credited), ladder rungs included.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from handlers.referral.tables import CREDITED, HELD, INVITES, PAYOUTS, REJECTED

KEYS = (
    "invites_joined",
    "invites_credited",
    "invites_held",
    "invites_rejected",
    "referral_coupons_paid",
    "referral_points_paid",
)


def figures(engine: Engine, campaign_id: str, group_ids: Sequence[str] | None) -> dict[str, int]:
    invites = select(INVITES.c.status, func.count()).where(INVITES.c.campaign_id == campaign_id)
    payouts = select(
        func.count(PAYOUTS.c.id).filter(PAYOUTS.c.coupon_code != ""),
        func.coalesce(func.sum(PAYOUTS.c.points), 0),
    ).where(PAYOUTS.c.campaign_id == campaign_id)
    if group_ids is not None:
        invites = invites.where(INVITES.c.group_id.in_(list(group_ids)))
        payouts = payouts.where(PAYOUTS.c.group_id.in_(list(group_ids)))
    with engine.connect() as conn:
        by_status = {status: int(n) for status, n in conn.execute(invites.group_by(INVITES.c.status)).all()}
        coupons, points = conn.execute(payouts).one()
    return {
        "invites_joined": sum(by_status.values()),
        "invites_credited": by_status.get(CREDITED, 0),
        "invites_held": by_status.get(HELD, 0),
        "invites_rejected": by_status.get(REJECTED, 0),
        "referral_coupons_paid": int(coupons),
        "referral_points_paid": int(points),
    }


__all__ = ["KEYS", "figures"]
