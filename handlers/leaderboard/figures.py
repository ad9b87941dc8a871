"""The leaderboard's figures for /stats and `tuanbot report` (`bot.feature.FiguresSource`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from handlers.leaderboard.tables import POSTS


def figures(engine: Engine, campaign_id: str, group_ids: Sequence[str] | None) -> dict[str, int]:
    """`leaderboard_posts`: boards posted in the campaign's groups (or only in `group_ids`)."""
    query = select(func.coalesce(func.sum(POSTS.c.posts), 0)).where(POSTS.c.campaign_id == campaign_id)
    if group_ids is not None:
        query = query.where(POSTS.c.group_id.in_(list(group_ids)))
    with engine.connect() as conn:
        posted = conn.execute(query).scalar_one()
    return {"leaderboard_posts": int(posted)}


__all__ = ["figures"]
