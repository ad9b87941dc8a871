"""Who is in a lottery's pool, in the one canonical order its numbers follow.

The pool rule is fixed at `/lottery start` and read at the draw, inside the draw's transaction
(the list is frozen as the rows stand at that instant):

* `buyers`: members with an active order of the campaign in the lottery's group, numbered by
  their first active order (its id: commit order, so nobody arranges it). A member who cancels
  every order before the draw is out; one who orders again comes back at their new first order.
* `checkins`: members who said 签到 in the group since the campaign's first timeline post,
  numbered by their first such check-in (the points ledger's rows, reason `checkin`).

The names are shown as the 接龙 list shows them (the name on the order, or the member's latest
name, through `safe_name`: phone-like digit runs starred); the outbox masks them further as it
masks every group post.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bot.storage.tables import MemberRow
from handlers.points.tables import LEDGER
from handlers.selling.parse import safe_name
from handlers.selling.tables import ACTIVE, ORDERS

BUYERS = "buyers"
CHECKINS = "checkins"
POOLS = (BUYERS, CHECKINS)
CHECKIN_REASON = "checkin"
MEMBERS = MemberRow.__table__  # type: ignore[attr-defined]
NAMES_PER_QUERY = 900  # under SQLite's bound-parameter limit


@dataclass(frozen=True)
class Entrant:
    member_id: str
    name: str
    first: int  # the id of the row that put them in: their first active order, their first check-in


@dataclass(frozen=True)
class PoolRule:
    """What a lottery's pool is: the rule, the campaign and group, and since when check-ins count."""

    pool: str
    campaign_id: str
    group_id: str
    since: datetime


def entrants(conn: Connection, rule: PoolRule) -> list[Entrant]:
    """The pool as it stands in `conn`'s transaction, in canonical order (numbers 1..n)."""
    found = _checkins(conn, rule) if rule.pool == CHECKINS else _buyers(conn, rule)
    return sorted(found, key=lambda e: e.first)


def _buyers(conn: Connection, rule: PoolRule) -> list[Entrant]:
    first = func.min(ORDERS.c.id)
    rows = conn.execute(
        select(ORDERS.c.member_id, first, func.max(ORDERS.c.member_name))
        .where(
            ORDERS.c.campaign_id == rule.campaign_id,
            ORDERS.c.group_id == rule.group_id,
            ORDERS.c.status == ACTIVE,
        )
        .group_by(ORDERS.c.member_id)
    ).all()
    return [Entrant(r[0], r[2] or "", int(r[1])) for r in rows]


def _checkins(conn: Connection, rule: PoolRule) -> list[Entrant]:
    rows = conn.execute(
        select(LEDGER.c.member_id, func.min(LEDGER.c.id))
        .where(
            LEDGER.c.reason == CHECKIN_REASON,
            LEDGER.c.group_id == rule.group_id,
            LEDGER.c.created_at >= rule.since,
        )
        .group_by(LEDGER.c.member_id)
    ).all()
    names = _names(conn, [r[0] for r in rows])
    return [Entrant(r[0], safe_name(names.get(r[0], "")), int(r[1])) for r in rows]


def _names(conn: Connection, member_ids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for start in range(0, len(member_ids), NAMES_PER_QUERY):
        chunk = member_ids[start : start + NAMES_PER_QUERY]
        rows = conn.execute(select(MEMBERS.c.id, MEMBERS.c.name).where(MEMBERS.c.id.in_(chunk))).all()
        names.update({r[0]: r[1] for r in rows})
    return names


__all__ = ["BUYERS", "CHECKINS", "POOLS", "Entrant", "PoolRule", "entrants"]
