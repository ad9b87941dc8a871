"""A query's rows read back as one row on SQLite: SQLite aggregates them into a JSON array.

Why: Python's sqlite3 module gives up the interpreter lock around every `sqlite3_step`, that is
for every row fetched, and a thread getting it back waits behind the busy event loop. A writer
that reads hundreds of rows inside its transaction (the order writer's group statuses, a batch's
接龙 lists) held the process's write gate for as many waits (docs/performance.md). One JSON row
costs one step. Values come back as JSON gives them: text, integers, reals and null (no
datetimes: read those the usual way).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection


def as_one_row(query: Select[Any]) -> Select[Any]:
    """`query`'s rows as one JSON array of arrays (columns in `query`'s order)."""
    rows = query.subquery()
    return select(func.json_group_array(func.json_array(*rows.c)))


def read_one_row(conn: Connection, one_row: Select[Any], params: Mapping[str, Any]) -> list[list[Any]]:
    """The rows of an `as_one_row` query (run with `params`)."""
    raw = conn.execute(one_row, params).scalar_one()
    return json.loads(raw) if raw else []


__all__ = ["as_one_row", "read_one_row"]
