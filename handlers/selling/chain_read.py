"""The 接龙 lists of several groups read back after a batch, in one statement.

Why one row on SQLite: the order writer reads back in its own thread while the event loop
is busy taking messages. Python's sqlite3 module releases the GIL around every
`sqlite3_step`, that is for every row fetched, and getting it back waits for the loop to
yield it (up to the interpreter's switch interval, 5 ms). Reading the lists of 100 groups
row by row (thousands of rows late in a sale) therefore took seconds per batch, and every
order waited for it. Aggregated into one JSON row by SQLite, the same read costs one step.
Other databases get the grouped query, with one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from bot.storage.one_row import as_one_row, read_one_row
from handlers.selling.ops import ChainEntry
from handlers.selling.tables import ACTIVE, ORDERS

_FIRST = func.min(ORDERS.c.id)
_LINES = (
    select(
        ORDERS.c.group_id.label("g"),
        ORDERS.c.member_id.label("m"),
        func.max(ORDERS.c.member_name).label("n"),
        ORDERS.c.product_code.label("p"),
        func.sum(ORDERS.c.quantity).label("q"),
        _FIRST.label("f"),
        func.max(ORDERS.c.id).label("l"),
    )
    .where(
        ORDERS.c.campaign_id == bindparam("campaign"),
        ORDERS.c.group_id.in_(bindparam("groups", expanding=True)),
        ORDERS.c.status == ACTIVE,
    )
    .group_by(ORDERS.c.group_id, ORDERS.c.member_id, ORDERS.c.product_code)
)
_ROWS = _LINES.order_by(ORDERS.c.group_id, _FIRST)
_ONE_ROW = as_one_row(_LINES)
_MEMBERS_LINES = as_one_row(_LINES.where(ORDERS.c.member_id.in_(bindparam("members", expanding=True))))
CHUNK = 500  # groups per statement (bound parameters stay far below SQLite's limit)


def chains_of(
    conn: Connection, campaign_id: str, group_ids: list[str], *, one_row: bool
) -> dict[str, list[ChainEntry]]:
    """Each group's list as `OrderStore.chain` reads it: one line per member and product, in
    order of the first order. `one_row`: aggregate into one JSON row (SQLite)."""
    lines: dict[str, list[tuple[int, ChainEntry]]] = {}
    for start in range(0, len(group_ids), CHUNK):
        params = {"campaign": campaign_id, "groups": group_ids[start : start + CHUNK]}
        if one_row:
            rows = read_one_row(conn, _ONE_ROW, params)
        else:
            rows = [list(r) for r in conn.execute(_ROWS, params)]
        for row in rows:
            entry = _entry(row)
            lines.setdefault(row[0], []).append((entry.first_id, entry))
    return {g: [entry for _, entry in sorted(found, key=lambda x: x[0])] for g, found in lines.items()}


def member_lines(
    conn: Connection, campaign_id: str, members_by_group: dict[str, set[str]]
) -> dict[str, list[ChainEntry]]:
    """The lines of some members in some groups (SQLite, one JSON row a chunk): what a batch that
    placed or cancelled their orders changed (`ChainCache`). Unordered."""
    lines: dict[str, list[ChainEntry]] = {}
    groups = list(members_by_group)
    for start in range(0, len(groups), CHUNK):
        chunk = groups[start : start + CHUNK]
        members = sorted(set().union(*(members_by_group[g] for g in chunk)))
        params = {"campaign": campaign_id, "groups": chunk, "members": members}
        for row in read_one_row(conn, _MEMBERS_LINES, params):
            if row[1] in members_by_group[row[0]]:  # not the same member's lines in another touched group
                lines.setdefault(row[0], []).append(_entry(row))
    return lines


def _entry(row: Sequence[Any]) -> ChainEntry:
    """A line from a row of `_LINES` (g, m, n, p, q, f, l)."""
    _, member, name, product, quantity, first, last = row
    return ChainEntry(member, name, product, int(quantity), int(first), int(last))


__all__ = ["CHUNK", "chains_of", "member_lines"]
