"""Broadcast figures for /stats and `tuanbot report` (`bot.feature.FeatureFigures`).

Broadcasts are not part of a campaign (a leader announces the next sale before its file
exists), so the campaign id is ignored: for the groups asked about (all groups for None),

- `broadcast_sent`: broadcast posts written to the outbox for those groups (one per group
  per broadcast sent);
- `broadcast_replies`: members who replied with one of those groups' codes (a member counted
  once per broadcast and group, however often they reply);
- `broadcast_clicks`: openings of those groups' tracking links on the board's server (anyone may
  open a link, nobody is identified: every opening counts).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from handlers.broadcast.tables import BROADCASTS, CLICKS, GROUPS, REPLIES, SENT


def figures(engine: Engine, campaign_id: str, group_ids: Sequence[str] | None) -> dict[str, int]:
    sent = (
        select(func.count())
        .select_from(GROUPS.join(BROADCASTS, BROADCASTS.c.id == GROUPS.c.broadcast_id))
        .where(BROADCASTS.c.status == SENT)
    )
    distinct = select(REPLIES.c.broadcast_id, REPLIES.c.group_id, REPLIES.c.member_id).distinct()
    clicks = select(func.count()).select_from(CLICKS)
    if group_ids is not None:
        sent = sent.where(GROUPS.c.group_id.in_(list(group_ids)))
        distinct = distinct.where(REPLIES.c.group_id.in_(list(group_ids)))
        clicks = clicks.where(CLICKS.c.group_id.in_(list(group_ids)))
    with engine.connect() as conn:
        posts = int(conn.execute(sent).scalar_one())
        replies = int(conn.execute(select(func.count()).select_from(distinct.subquery())).scalar_one())
        opened = int(conn.execute(clicks).scalar_one())
    return {"broadcast_sent": posts, "broadcast_replies": replies, "broadcast_clicks": opened}


__all__ = ["figures"]
