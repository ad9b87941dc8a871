"""Reading and writing order remarks (备注): plain Core statements on a given connection.

Why a module of its own: the same upsert runs in two places, the order writer's batch (a
remark typed with the order, `A1 2 备注 3栋502`, commits with it) and the store (a remark on
its own, `备注 放门口`, after an order), and both must keep one row per (campaign, member) with
the latest text. The upsert is the dialect's own ``INSERT … ON CONFLICT DO UPDATE`` (the bot runs on SQLite
and PostgreSQL only), so two writers cannot race an update-then-insert into a duplicate key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.engine import Connection

from bot.storage.engine import upsert_insert
from handlers.selling.tables import ACTIVE, ORDERS, REMARKS

MAX_REMARK_CHARS = 120
"""A remark is a room number or a short instruction; longer text is cut (it lands in the pickup list)."""

RemarkKey = tuple[str, str]  # (campaign_id, member_id)


def clean_remark(text: str) -> str:
    """One line, trimmed and bounded, as stored and shown to the leader."""
    return " ".join(text.split())[:MAX_REMARK_CHARS]


def write_remarks(conn: Connection, remarks: Mapping[RemarkKey, str], now: datetime) -> None:
    """Store each member's latest remark (replacing the previous one); empty texts are skipped."""
    rows = [
        {"campaign_id": c, "member_id": m, "text": clean_remark(t), "updated_at": now}
        for (c, m), t in remarks.items()
        if clean_remark(t)
    ]
    if not rows:
        return
    stmt = upsert_insert(conn)(REMARKS)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[REMARKS.c.campaign_id, REMARKS.c.member_id],
            set_={"text": stmt.excluded.text, "updated_at": stmt.excluded.updated_at},
        ),
        rows,
    )


def has_active_orders(conn: Connection, campaign_id: str, member_id: str) -> bool:
    """Whether the member holds at least one active order in the campaign (any group)."""
    query = select(
        exists().where(
            ORDERS.c.campaign_id == campaign_id,
            ORDERS.c.member_id == member_id,
            ORDERS.c.status == ACTIVE,
        )
    )
    return bool(conn.execute(query).scalar())


def read_remarks(conn: Connection, campaign_id: str, member_id: str | None = None) -> dict[str, str]:
    """member_id -> remark text of a campaign (one query), or of one member when given."""
    query = select(REMARKS.c.member_id, REMARKS.c.text).where(REMARKS.c.campaign_id == campaign_id)
    if member_id is not None:
        query = query.where(REMARKS.c.member_id == member_id)
    return {r[0]: r[1] for r in conn.execute(query)}


def latest_order(
    conn: Connection, member_id: str, campaign_ids: Sequence[str], group_id: str = ""
) -> tuple[str, str] | None:
    """(campaign, group) of the member's most recent active order among `campaign_ids` (in
    `group_id` when given), in one query; None when they bought nothing there."""
    if not campaign_ids:
        return None
    query = select(ORDERS.c.campaign_id, ORDERS.c.group_id).where(
        ORDERS.c.member_id == member_id,
        ORDERS.c.status == ACTIVE,
        ORDERS.c.campaign_id.in_(list(campaign_ids)),
    )
    if group_id:
        query = query.where(ORDERS.c.group_id == group_id)
    row = conn.execute(query.order_by(ORDERS.c.id.desc()).limit(1)).first()
    return (str(row[0]), str(row[1])) if row else None


__all__ = [
    "MAX_REMARK_CHARS",
    "clean_remark",
    "has_active_orders",
    "latest_order",
    "read_remarks",
    "write_remarks",
]
