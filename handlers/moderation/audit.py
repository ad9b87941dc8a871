"""The moderation audit log: rows written behind the event loop, read back for `/modlog` and at start.

Why written behind: the ladder acts on the event loop for each violating post; its rows go through
the app's write-behind writer (as the FAQ's unanswered questions do), so a flood of spam costs the
loop no database round trip. Readers (`/modlog`, start-up) wait for what is queued first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bot.context import Services
from bot.storage.rowops import APPEND_LOG_RANK, RowOp
from bot.trace_log import INFO, trace
from handlers.moderation.tables import ModerationAction

TABLE: Any = ModerationAction.__table__  # type: ignore[attr-defined]
_INSERT = insert(TABLE)
LADDER_ACTIONS = ("warn", "mention", "alert", "kick")
MODLOG_ROWS = 30


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit row as `/modlog` lists it."""

    at: datetime
    group_id: str
    member_id: str
    action: str
    rule: str
    strike: int
    detail: str
    by_id: str
    until: datetime | None


def record(
    services: Services,
    group_id: str,
    member_id: str,
    action: str,
    now: datetime,
    *,
    rule: str = "",
    strike: int = 0,
    detail: str = "",
    by_id: str = "",
    until: datetime | None = None,
) -> None:
    """Queue one audit row for the write-behind writer (the loop neither writes nor waits)."""
    params = {
        "group_id": group_id,
        "member_id": member_id,
        "action": action,
        "rule": rule,
        "strike": strike,
        "detail": detail[:200],
        "by_id": by_id,
        "at": now,
        "until": until,
    }
    trace(
        INFO,
        "handlers.moderation.audit:record",
        "moderation: {} ({}) by {}",
        action,
        rule,
        by_id or "bot",
        group=group_id,
        member=member_id,
    )
    services.write_behind(RowOp(_INSERT, params, rank=APPEND_LOG_RANK))


def recent(engine: Engine, group_ids: Sequence[str] | None, limit: int = MODLOG_ROWS) -> list[Entry]:
    """The newest `limit` actions in these groups (all groups: None), newest first."""
    query = select(TABLE).order_by(TABLE.c.at.desc(), TABLE.c.id.desc()).limit(limit)
    if group_ids is not None:
        query = query.where(TABLE.c.group_id.in_(list(group_ids)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Entry(r.at, r.group_id, r.member_id, r.action, r.rule, r.strike, r.detail, r.by_id, r.until)
        for r in rows
    ]


def since(engine: Engine, cutoff: datetime) -> Iterable[Any]:
    """Rows newer than `cutoff`, oldest first (start-up: who is muted, how many strikes)."""
    with engine.connect() as conn:
        return conn.execute(select(TABLE).where(TABLE.c.at >= cutoff).order_by(TABLE.c.at, TABLE.c.id)).all()


def memory_cutoff(now: datetime, reset_hours: Iterable[float], longest_mute: timedelta) -> datetime:
    """How far back start-up reads: the longest strike window or mute, whichever is longer."""
    return now - max(timedelta(hours=max(reset_hours, default=24.0)), longest_mute)
