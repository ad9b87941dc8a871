"""The per-group alert rules' figures, counted by the database: one row per group, not per member.

The rules read four counts per group (members, messages, active members, buyers), the same ones
`handlers.monitoring.metrics.GroupMetrics` derives (docs/metrics.md). GroupMetrics fetches one row
per (group, member) and keeps the member sets, which `tuanbot report` and `/stats` need. The
monitor does not. At a thousand groups those rows made a check ~36,000 Python objects, ~19,000 of
them alive long enough to be promoted to the garbage collector's oldest generation, and promotions
are what bring on a full collection: a pass over every object the process tracks (~280,000 in the
routing benchmark, 140-280 ms there) that holds the interpreter lock throughout, so it stalls the
event loop whichever thread starts it. Counting here cuts a check's promotions to ~4,400 and makes
them grow with groups only, not with the members who spoke. It cannot by itself keep a full pass out of
the check: that takes a process-wide collector policy (issue 14, docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Integer, Select, bindparam, func, literal_column, select, union_all
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.storage.tables import InboundMessage
from handlers.monitoring import activity
from handlers.monitoring.activity import MEMBERS_BY_GROUP, chunks, per_minute, share
from handlers.selling.store import ACTIVE, OrderRow


@dataclass(frozen=True, slots=True)
class RuleFigures:
    """One group's counts for one campaign and window; the ratios are GroupMetrics' own formulas."""

    members: int
    messages: int
    active_members: int
    buyers: int
    window_seconds: float

    @property
    def active_ratio(self) -> float:
        return share(self.active_members, self.members)

    @property
    def messages_per_minute(self) -> float:
        return per_minute(self.messages, self.window_seconds)

    @property
    def conversion_active(self) -> float:
        return share(self.buyers, self.active_members)


_GROUPS: BindParameter[Any] = bindparam("groups", expanding=True)
_SINCE: BindParameter[Any] = bindparam("since")
_UNTIL: BindParameter[Any] = bindparam("until")
_SAID: Select[str, str, int, int] = (
    select(  # one row per message in the window: it counts once, its sender is active
        col(InboundMessage.group_id).label("group_id"),
        col(InboundMessage.sender_id).label("member_id"),
        literal_column("1", Integer).label("said"),
        literal_column("0", Integer).label("bought"),
    ).where(
        col(InboundMessage.group_id).in_(_GROUPS),
        col(InboundMessage.time) >= _SINCE,
        col(InboundMessage.time) < _UNTIL,
    )
)
_BOUGHT = select(  # one row per active order of the campaign in the window: its buyer is active
    col(OrderRow.group_id),
    col(OrderRow.member_id),
    literal_column("0", Integer),
    literal_column("1", Integer),
).where(
    col(OrderRow.group_id).in_(_GROUPS),
    col(OrderRow.status) == ACTIVE,
    col(OrderRow.created_at) >= _SINCE,
    col(OrderRow.created_at) < _UNTIL,
    col(OrderRow.campaign_id) == bindparam("campaign"),
)
_BOTH = union_all(_SAID, _BOUGHT).subquery()
_PER_MEMBER = (
    select(
        _BOTH.c.group_id,
        func.sum(_BOTH.c.said).label("messages"),
        func.max(_BOTH.c.bought).label("bought"),
    )
    .group_by(_BOTH.c.group_id, _BOTH.c.member_id)
    .subquery()
)
# Built once (see handlers.monitoring.activity). Per group: active members (speakers ∪ buyers),
# messages, buyers.
ACTIVITY_BY_GROUP = select(
    _PER_MEMBER.c.group_id,
    func.count(),
    func.sum(_PER_MEMBER.c.messages),
    func.sum(_PER_MEMBER.c.bought),
).group_by(_PER_MEMBER.c.group_id)


def groups_rule_figures(
    engine: Engine, campaign_id: str, group_ids: list[str], since: datetime, until: datetime
) -> dict[str, RuleFigures]:
    """Every group's rule figures for one campaign and window: one grouped query per 900 groups for
    the members, one per 450 for the rest."""
    members: dict[str, int] = {}
    counts: dict[str, tuple[int, int, int]] = {}
    # The group list is bound twice in ACTIVITY_BY_GROUP: half a chunk keeps it under SQLite's 999.
    half = max(1, activity.CHUNK // 2)
    with engine.connect() as conn:
        for part in chunks(group_ids):
            params = {"groups": part, "since": since, "until": until}
            for group_id, now_in, _joined, _left in conn.execute(MEMBERS_BY_GROUP, params):
                members[group_id] = int(now_in)
        for part in chunks(group_ids, half):
            params = {"groups": part, "since": since, "until": until, "campaign": campaign_id}
            for group_id, active, messages, buyers in conn.execute(ACTIVITY_BY_GROUP, params):
                counts[group_id] = (int(active), int(messages), int(buyers))
    window = (until - since).total_seconds()
    result = {}
    for group_id in group_ids:
        active, messages, buyers = counts.get(group_id, (0, 0, 0))
        result[group_id] = RuleFigures(members.get(group_id, 0), messages, active, buyers, window)
    return result
