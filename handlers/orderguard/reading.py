"""What a check reads: one campaign's orders, remarks, names, joins, speech and broadcasts.

Plain Core statements on one connection, run in a worker thread (never on the event loop).
Speech is read only for the members the first pattern could flag (an order within
`new_member_minutes` of their join), and only between that join and their last order, so a
campaign of thousands of orders reads a few rows of the inbound log, not all of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from bot.storage.tables import InboundMessage, MemberRow, Membership, TimelineLedger
from handlers.orderguard.patterns import Broadcast, OrderFact
from handlers.selling.remark_rows import read_remarks
from handlers.selling.tables import ORDERS

MEMBERSHIPS = Membership.__table__  # type: ignore[attr-defined]
INBOUND = InboundMessage.__table__  # type: ignore[attr-defined]
MEMBERS = MemberRow.__table__  # type: ignore[attr-defined]
LEDGER = TimelineLedger.__table__  # type: ignore[attr-defined]
CHUNK = 400  # bound parameters per IN (...) list: SQLite allows 999 in old builds
SPEECH_CHUNK = 100  # (group, member) windows per query: four parameters each
POSTED = "posted"


@dataclass
class Facts:
    """Everything the three patterns look at, for one campaign."""

    orders: list[OrderFact] = field(default_factory=list)
    joined: dict[tuple[str, str], datetime] = field(default_factory=dict)
    spoke: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)
    remarks: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    broadcasts: list[Broadcast] = field(default_factory=list)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def read_facts(
    conn: Connection, campaign_id: str, broadcast_nodes: Iterable[str], *, new_member_minutes: float
) -> Facts:
    """The campaign's facts in a handful of queries (orders of every status: flagged ones count)."""
    facts = Facts()
    rows = conn.execute(
        select(
            ORDERS.c.member_id,
            ORDERS.c.group_id,
            ORDERS.c.member_name,
            ORDERS.c.created_at,
            ORDERS.c.status,
            ORDERS.c.cancelled_at,
        )
        .where(ORDERS.c.campaign_id == campaign_id)
        .order_by(ORDERS.c.id)
    ).all()
    facts.orders = [OrderFact(*row) for row in rows]
    if not facts.orders:
        return facts
    members = sorted({o.member_id for o in facts.orders})
    groups = sorted({o.group_id for o in facts.orders})
    facts.remarks = read_remarks(conn, campaign_id)
    for chunk in _chunks(members):
        facts.names.update(
            {
                r[0]: r[1]
                for r in conn.execute(select(MEMBERS.c.id, MEMBERS.c.name).where(MEMBERS.c.id.in_(chunk)))
            }
        )
        for group_id, member_id, _first_seen, joined in conn.execute(
            select(
                MEMBERSHIPS.c.group_id,
                MEMBERSHIPS.c.member_id,
                MEMBERSHIPS.c.first_seen_at,
                MEMBERSHIPS.c.joined_at,
            ).where(MEMBERSHIPS.c.member_id.in_(chunk), MEMBERSHIPS.c.group_id.in_(groups))
        ):
            # Only a join WeChat reported counts: a member first seen as they order may have been
            # in the group for years before the bot came (the bot cannot tell a newcomer).
            if joined is not None:
                facts.joined[(group_id, member_id)] = joined
    facts.spoke = _speech(conn, facts, timedelta(minutes=new_member_minutes))
    nodes = sorted(set(broadcast_nodes))
    if nodes:
        facts.broadcasts = [
            Broadcast(r[0], r[1], r[2])
            for r in conn.execute(
                select(LEDGER.c.group_id, LEDGER.c.node_id, LEDGER.c.ran_at).where(
                    LEDGER.c.campaign_id == campaign_id,
                    LEDGER.c.status == POSTED,
                    LEDGER.c.node_id.in_(nodes),
                )
            )
        ]
    return facts


def _speech(conn: Connection, facts: Facts, limit: timedelta) -> dict[tuple[str, str], list[datetime]]:
    """Message times of the members whose orders came within `limit` of their join, between the
    join and their last order (what the first pattern needs, nothing more)."""
    last: dict[tuple[str, str], datetime] = {}
    recent: set[tuple[str, str]] = set()
    for order in facts.orders:
        key = (order.group_id, order.member_id)
        last[key] = max(last.get(key, order.created_at), order.created_at)
        join = facts.joined.get(key)
        if join is not None and timedelta(0) <= order.created_at - join < limit:
            recent.add(key)
    spoke: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for chunk in _chunks(sorted(recent), SPEECH_CHUNK):
        window = or_(
            *(
                and_(
                    INBOUND.c.group_id == g,
                    INBOUND.c.sender_id == m,
                    INBOUND.c.time >= facts.joined[(g, m)],
                    INBOUND.c.time <= last[(g, m)],
                )
                for g, m in chunk
            )
        )
        query = select(INBOUND.c.group_id, INBOUND.c.sender_id, INBOUND.c.time).where(
            INBOUND.c.kind == "group", window
        )
        for group_id, member_id, at in conn.execute(query):
            spoke[(group_id, member_id)].append(at)
    return dict(spoke)


__all__ = ["Facts", "read_facts"]
