"""Persistence of the outbox queue: what is queued survives a restart.

Statuses: queued -> sending -> sent; failed (given up); uncertain (caught mid-send
by a crash, never resent); cancelled (dropped while queued as stale, never sent).
Only `queued` rows are loaded at start-up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from bot.storage.tables import OutboxRow

_QUEUED_DEFAULTS: dict[str, object] = {"status": "queued", "attempts": 0, "last_error": ""}
_INSERT_RETURNING_ID = insert(OutboxRow).returning(col(OutboxRow.id), sort_by_parameter_order=True)


class OutboxStore:
    """Rows of the `outbox` table, written with short explicit transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def insert_many(self, conn: Connection, drafts: list[dict[str, object]], now: datetime) -> list[int]:
        """Insert queued rows inside the caller's transaction (used to tie posts to the ledger).

        One statement for all rows (`RETURNING` ids in the drafts' order), built once per
        process so SQLAlchemy reuses its compiled form.
        """
        if not drafts:
            return []
        rows = [{**_QUEUED_DEFAULTS, "created_at": now, "not_before": None, **draft} for draft in drafts]
        result = conn.execute(_INSERT_RETURNING_ID, rows)
        ids = [row_id for row_id in result.scalars().all() if row_id is not None]
        assert len(ids) == len(rows)
        return ids

    def insert(
        self,
        *,
        group_id: str,
        member_id: str,
        text: str,
        mentions: str,
        priority: int,
        kind: str,
        replace_key: str,
        now: datetime,
        not_before: datetime | None = None,
    ) -> int:
        draft: dict[str, object] = {
            "group_id": group_id,
            "member_id": member_id,
            "text": text,
            "mentions": mentions,
            "priority": priority,
            "kind": kind,
            "replace_key": replace_key,
            "not_before": not_before,
        }
        with self.engine.begin() as conn:
            return self.insert_many(conn, [draft], now)[0]

    def replace_text(self, row_id: int, text: str, mentions: str) -> bool:
        # not_before is kept: a newer version of a delayed post (a combined welcome) waits as long.
        """Swap a still-queued message for a newer version; False if it already left."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(OutboxRow)
                .where(col(OutboxRow.id) == row_id, col(OutboxRow.status) == "queued")
                .values(text=text, mentions=mentions)
            )
            return bool(result.rowcount)

    def set_status(
        self, row_id: int, status: str, *, sent_at: datetime | None = None, error: str = "", attempts: int = 0
    ) -> None:
        values: dict[str, object] = {"status": status}
        if sent_at is not None:
            values["sent_at"] = sent_at
        if error:
            values["last_error"] = error[:500]
        if attempts:
            values["attempts"] = attempts
        with self.engine.begin() as conn:
            conn.execute(update(OutboxRow).where(col(OutboxRow.id) == row_id).values(**values))

    def cancel_queued(self, *, group_id: str, kind: str) -> list[int]:
        """Mark still-queued messages of `kind` to `group_id` cancelled; the ids cancelled."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(OutboxRow)
                .where(
                    col(OutboxRow.group_id) == group_id,
                    col(OutboxRow.kind) == kind,
                    col(OutboxRow.status) == "queued",
                )
                .values(status="cancelled")
                .returning(col(OutboxRow.id))
            )
            return [row_id for row_id in result.scalars().all() if row_id is not None]

    def recover_inflight(self) -> int:
        """Mark messages caught mid-send by a crash as uncertain: never resent, so never doubled."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(OutboxRow).where(col(OutboxRow.status) == "sending").values(status="uncertain")
            )
            return int(result.rowcount)

    def queued(self) -> list[OutboxRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(OutboxRow).where(col(OutboxRow.status) == "queued").order_by(col(OutboxRow.id))
            ).all()
        return [OutboxRow.model_validate(dict(r._mapping)) for r in rows]

    def sent_since(self, since: datetime) -> list[tuple[str, str, datetime]]:
        """(group_id, member_id, sent_at) of messages sent since `since`, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(OutboxRow.group_id), col(OutboxRow.member_id), col(OutboxRow.sent_at))
                .where(col(OutboxRow.sent_at) >= since)
                .order_by(col(OutboxRow.sent_at))
            ).all()
        return [(r[0], r[1], r[2]) for r in rows if r[2] is not None]

    def count_sent_since(self, since: datetime) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(OutboxRow).where(col(OutboxRow.sent_at) >= since)
                ).scalar_one()
            )

    def all_rows(self) -> list[OutboxRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(OutboxRow).order_by(col(OutboxRow.id))).all()
        return [OutboxRow.model_validate(dict(r._mapping)) for r in rows]
