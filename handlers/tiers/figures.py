"""Tier figures for /stats and `tuanbot report` (`bot.feature.FeatureFigures`).

Keys: `tier_members` (the campaign's buyers, in the groups asked, who hold a tier above the base
one) and `tier_promoted_at_close` (members promoted when those groups closed). Tiers as last computed:
the figures take no clock, so a tier that lapsed since is still counted until it is recomputed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from handlers.selling.tables import ACTIVE, ORDERS
from handlers.tiers.tables import PROMOTIONS, TIERS


def figures(engine: Engine, campaign_id: str, group_ids: Sequence[str] | None) -> dict[str, int]:
    """The campaign's tier figures (None: all its groups)."""
    buyers = select(ORDERS.c.member_id).where(ORDERS.c.campaign_id == campaign_id, ORDERS.c.status == ACTIVE)
    promoted = select(func.count()).select_from(PROMOTIONS).where(PROMOTIONS.c.campaign_id == campaign_id)
    if group_ids is not None:
        buyers = buyers.where(ORDERS.c.group_id.in_(list(group_ids)))
        promoted = promoted.where(PROMOTIONS.c.group_id.in_(list(group_ids)))
    top = (
        select(TIERS.c.member_id, func.max(TIERS.c.rank).label("rank"))
        .where(TIERS.c.member_id.in_(buyers.distinct().scalar_subquery()))
        .group_by(TIERS.c.member_id)
        .subquery()
    )
    with engine.connect() as conn:
        rows = conn.execute(select(top.c.rank, func.count()).group_by(top.c.rank)).all()
        by_rank: dict[int, int] = {int(rank): int(n) for rank, n in rows}
        promotions = int(conn.execute(promoted).scalar_one())
    return {"tier_members": sum(by_rank.values()), "tier_promoted_at_close": promotions}


__all__ = ["figures"]
