"""活跃之星's figures for /stats and `tuanbot report` (`bot.feature.FiguresSource`).

Stars are weekly and per group, not per campaign: a campaign's figures count the stars of weeks
in which it had an active order in that group (the weeks it helped decide).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, exists, func, select
from sqlalchemy.engine import Engine

from handlers.selling.tables import ACTIVE, ORDERS
from handlers.stars.tables import AWARDS


def figures(engine: Engine, campaign_id: str, group_ids: Sequence[str] | None) -> dict[str, int]:
    """`stars_awarded` (stars named) and `star_points` (points they were paid)."""
    helped = exists().where(
        and_(
            ORDERS.c.campaign_id == campaign_id,
            ORDERS.c.group_id == AWARDS.c.group_id,
            ORDERS.c.status == ACTIVE,
            ORDERS.c.created_at >= AWARDS.c.week_start,
            ORDERS.c.created_at < AWARDS.c.week_end,
        )
    )
    query = select(func.count(), func.coalesce(func.sum(AWARDS.c.points), 0)).where(helped)
    if group_ids is not None:
        query = query.where(AWARDS.c.group_id.in_(list(group_ids)))
    with engine.connect() as conn:
        count, points = conn.execute(query).one()
    return {"stars_awarded": int(count), "star_points": int(points)}


__all__ = ["figures"]
