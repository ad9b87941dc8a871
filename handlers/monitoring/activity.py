"""Chat activity per group, from the inbound message log and memberships.

Definitions (docs/metrics.md): *members* are the members the bot knows to be in
the group now (joined or seen speaking, not left); a member is *active* in a
window if they sent at least one message there or placed an order in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
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
        return per_minute(self.messages, self.window_seconds)


def per_minute(count: int, window_seconds: float) -> float:
    return count / (window_seconds / 60) if window_seconds else 0.0


def share(part: int, whole: int) -> float:
    """`part` ÷ `whole`, 0 for an empty whole (a group nobody is in, nobody active in)."""
    return part / whole if whole else 0.0


# Group ids per query: below SQLite's oldest limit of 999 bound parameters.
CHUNK = 900

# Built once with bound parameters: the monitor runs them every minute of a sale (and a
# rehearsal plays a whole sale's minutes), and building a statement cost more than running it.
_GROUPS: BindParameter[Any] = bindparam("groups", expanding=True)
_SINCE: BindParameter[Any] = bindparam("since")
_UNTIL: BindParameter[Any] = bindparam("until")
MEMBERS_BY_GROUP = (
    select(
        col(Membership.group_id),
        func.count().filter(col(Membership.left_at).is_(None)),
        func.count().filter(col(Membership.joined_at) >= _SINCE, col(Membership.joined_at) < _UNTIL),
        func.count().filter(col(Membership.left_at) >= _SINCE, col(Membership.left_at) < _UNTIL),
    )
    .where(col(Membership.group_id).in_(_GROUPS))
    .group_by(col(Membership.group_id))
)
SPEAKERS_BY_GROUP = (
    select(col(InboundMessage.group_id), col(InboundMessage.sender_id), func.count())
    .where(
        col(InboundMessage.group_id).in_(_GROUPS),
        col(InboundMessage.time) >= _SINCE,
        col(InboundMessage.time) < _UNTIL,
    )
    .group_by(col(InboundMessage.group_id), col(InboundMessage.sender_id))
)


def chunks(group_ids: list[str], size: int | None = None) -> Iterator[list[str]]:
    size = size or CHUNK
    for start in range(0, len(group_ids), size):
        yield group_ids[start : start + size]


def groups_activity(
    engine: Engine, group_ids: list[str], since: datetime, until: datetime
) -> dict[str, Activity]:
    """Every group's activity with two grouped queries per 900 groups, not two per group.

    The monitor measures each campaign's groups every minute; per-group queries made
    that a multi-second job at a thousand groups.
    """
    members: dict[str, tuple[int, int, int]] = {}
    speakers: dict[str, dict[str, int]] = {group_id: {} for group_id in group_ids}
    with engine.connect() as conn:
        for part in chunks(group_ids):
            params = {"groups": part, "since": since, "until": until}
            for group_id, now_in, joined, left in conn.execute(MEMBERS_BY_GROUP, params):
                members[group_id] = (int(now_in), int(joined), int(left))
            for group_id, sender_id, count in conn.execute(SPEAKERS_BY_GROUP, params):
                speakers[group_id][sender_id] = int(count)
    window = (until - since).total_seconds()
    result = {}
    for group_id in group_ids:
        now_in, joined, left = members.get(group_id, (0, 0, 0))
        said = speakers[group_id]
        result[group_id] = Activity(now_in, frozenset(said), sum(said.values()), joined, left, window)
    return result


def group_activity(engine: Engine, group_id: str, since: datetime, until: datetime) -> Activity:
    return groups_activity(engine, [group_id], since, until)[group_id]
