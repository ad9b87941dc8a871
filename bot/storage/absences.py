"""Groups an account was removed from (several accounts): written by that account's process."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from bot.storage.engine import upsert_insert
from bot.storage.tables import AccountAbsence

TABLE = AccountAbsence.__table__  # type: ignore[attr-defined]


def record_absence(engine: Engine, account: str, group_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            upsert_insert(engine)(TABLE)
            .values(account_id=account, group_id=group_id, since=datetime.now(UTC))
            .on_conflict_do_nothing()
        )


def clear_absence(engine: Engine, account: str, group_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(TABLE).where(TABLE.c.account_id == account, TABLE.c.group_id == group_id))


def absences(conn: Connection) -> set[tuple[str, str]]:
    """(account, group) of every recorded removal."""
    return {(r[0], r[1]) for r in conn.execute(select(TABLE.c.account_id, TABLE.c.group_id))}
