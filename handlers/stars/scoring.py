"""A week's 活跃值 per member and group: orders, 晒单 and leaders' helpful marks, never chatter.

Three grouped reads, one per kind (the sale's `orders`, 晒单's `showoff_entries`, this feature's
marks), each over the week's time range; nothing reads the message log, so talking a lot earns
nothing. Orders count per line placed in the week and still active (a cancelled order counts
nothing); a 晒单 counts when it was counted for the 晒单有礼 (one per buyer and campaign).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, func, select
from sqlalchemy.engine import Connection

from bot.config_stars import StarWeights
from handlers.selling.tables import ACTIVE, ORDERS
from handlers.showoff.tables import ENTRIES
from handlers.stars.tables import MARKS
from handlers.stars.weeks import Week


@dataclass(frozen=True)
class Standing:
    member_id: str
    orders: int
    showoff: int
    helpful: int
    score: int


Counts = dict[tuple[str, str], list[int]]  # (group, member) -> [orders, showoff, helpful]


def standings(
    conn: Connection, weights: StarWeights, week: Week, group_ids: Sequence[str] | None = None
) -> dict[str, list[Standing]]:
    """Each group's members with a score above 0, best first (ties: more orders, then by id)."""
    counts: Counts = {}
    kinds: tuple[tuple[int, Table, ColumnElement[bool] | None, int], ...] = (
        (0, ORDERS, ORDERS.c.status == ACTIVE, weights.orders),
        (1, ENTRIES, None, weights.showoff),
        (2, MARKS, None, weights.helpful),
    )
    for slot, table, extra, weight in kinds:
        if not weight:
            continue
        for group_id, member_id, n in conn.execute(_count(table, week, group_ids, extra)).all():
            counts.setdefault((group_id, member_id), [0, 0, 0])[slot] = int(n)
    found: dict[str, list[Standing]] = {}
    for (group_id, member_id), (orders, showoff, helpful) in counts.items():
        score = orders * weights.orders + showoff * weights.showoff + helpful * weights.helpful
        if score > 0:
            found.setdefault(group_id, []).append(Standing(member_id, orders, showoff, helpful, score))
    for rows in found.values():
        rows.sort(key=lambda s: (-s.score, -s.orders, s.member_id))
    return found


def _count(
    table: Table, week: Week, group_ids: Sequence[str] | None, extra: ColumnElement[bool] | None
) -> Select[Any]:
    """(group, member, rows) of `table` in the week (every table here has those three columns)."""
    query = (
        select(table.c.group_id, table.c.member_id, func.count())
        .where(table.c.created_at >= week.start, table.c.created_at < week.end)
        .group_by(table.c.group_id, table.c.member_id)
    )
    if extra is not None:
        query = query.where(extra)
    if group_ids is not None:
        query = query.where(table.c.group_id.in_(list(group_ids)))
    return query


__all__ = ["Standing", "standings"]
