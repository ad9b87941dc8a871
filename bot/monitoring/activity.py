"""Chat activity per group, from the inbound message log and memberships.

Definitions (docs/metrics.md): *members* are the members the bot knows to be in
the group now (joined or seen speaking, not left); a member is *active* in a
window if they sent at least one message there or placed an order in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.storage.tables import InboundMessage, Membership


@dataclass(frozen=True)
class Activity:
    members: int
    speakers: frozenset[str]
    messages: int
    joined: int
    left: int
    window_seconds: float

    @property
    def messages_per_minute(self) -> float:
        return self.messages / (self.window_seconds / 60) if self.window_seconds else 0.0


def group_activity(engine: Engine, group_id: str, since: datetime, until: datetime) -> Activity:
    """Two queries per group: the monitor runs this for every group every minute."""
    with engine.connect() as conn:
        members, joined, left = conn.execute(
            select(
                func.count().filter(col(Membership.left_at).is_(None)),
                func.count().filter(col(Membership.joined_at) >= since, col(Membership.joined_at) < until),
                func.count().filter(col(Membership.left_at) >= since, col(Membership.left_at) < until),
            ).where(col(Membership.group_id) == group_id)
        ).one()
        rows = conn.execute(
            select(col(InboundMessage.sender_id), func.count())
            .where(
                col(InboundMessage.group_id) == group_id,
                col(InboundMessage.time) >= since,
                col(InboundMessage.time) < until,
            )
            .group_by(col(InboundMessage.sender_id))
        ).all()
    return Activity(
        members=int(members),
        speakers=frozenset(r[0] for r in rows),
        messages=sum(int(r[1]) for r in rows),
        joined=int(joined),
        left=int(left),
        window_seconds=(until - since).total_seconds(),
    )
