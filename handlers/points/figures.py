"""Points figures of one campaign for /stats and `tuanbot report` (`bot.feature.FeatureFigures`).

Only ledger rows tagged with the campaign count: order points, 晒单, lottery prizes, referral…
(a check-in belongs to a day, not to a campaign, so it is not a campaign's figure). A group's
figures are the rows written for that group (an order's points name the group that closed).

Keys: `points_earned` (all credits), `points_earned_<reason>` per reason (order, showoff,
lottery, referral…), `points_redeemed` (points debited by 积分抵扣), `redeem_members` (members
whose points paid part of their bill) and `redeem_off_cents` (fen those points took off).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from handlers.points.redeem import REASON as REDEEM
from handlers.points.tables import LEDGER, REDEMPTIONS


def figures(engine: Engine, campaign_id: str, group_ids: Sequence[str] | None) -> dict[str, int]:
    """The campaign's points figures in `group_ids` (None: every group)."""
    where = [LEDGER.c.campaign_id == campaign_id]
    if group_ids is not None:
        where.append(LEDGER.c.group_id.in_(list(group_ids)))
    by_reason = (
        select(LEDGER.c.reason, func.sum(LEDGER.c.points), func.count(func.distinct(LEDGER.c.member_id)))
        .where(*where)
        .group_by(LEDGER.c.reason)
        .order_by(LEDGER.c.reason)
    )
    off = select(func.coalesce(func.sum(REDEMPTIONS.c.off_cents), 0)).where(
        REDEMPTIONS.c.campaign_id == campaign_id,
        REDEMPTIONS.c.settled.is_(True),
        REDEMPTIONS.c.points > 0,
        REDEMPTIONS.c.member_id.in_(
            select(LEDGER.c.member_id).where(*where, LEDGER.c.reason == REDEEM).scalar_subquery()
        ),
    )
    found: dict[str, int] = {"points_earned": 0, "points_redeemed": 0, "redeem_members": 0}
    with engine.connect() as conn:
        for reason, points, members in conn.execute(by_reason).all():
            total = int(points or 0)
            if reason == REDEEM:
                found["points_redeemed"] += -total
                found["redeem_members"] += int(members)
            elif total > 0:
                found["points_earned"] += total
                found[f"points_earned_{reason}"] = total
        found["redeem_off_cents"] = int(conn.execute(off).scalar_one())
    return found


__all__ = ["figures"]
