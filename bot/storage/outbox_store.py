"""Persistence of the outbox queue: what is queued survives a restart.

Statuses: queued -> sending -> sent; failed (given up); uncertain (caught mid-send
by a crash, never resent); cancelled (dropped while queued as stale, never sent).
Only `queued` rows are loaded at start-up.

The outbox's writes are owed, not made, when it asks (`*_behind`): they wait in
the database's write log (`outbox_log`), and `write()` commits them in one
transaction, off the event loop (the send loop calls it once per pass). So a reply
costs the event loop a list append, not an INSERT and a commit. Reads through this
store first write what is owed: whoever reads the table through it sees every
message the outbox has accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from bot.storage.multirow import MultiRowInserts
from bot.storage.outbox_log import INSERT, QUEUED_DEFAULTS, Op, WriteStats, log_for, status_values
from bot.storage.tables import Membership, OutboxRow

_MULTIROW = MultiRowInserts()

__all__ = ["Op", "OutboxStore", "status_values"]


class OutboxStore:
    """Rows of the `outbox` table: owed writes committed in batches, reads that see them."""

    def __init__(self, engine: Engine, account: str = "", *, in_process: bool = False) -> None:
        """`account`: with several accounts, this process's; its reads and marks are its rows only.
        `in_process`: the owed writes commit in a SQL process of their own where the engine allows
        it (`bot.storage.outbox_child`; `database.writer_process`)."""
        self.engine = engine
        self.account = account
        self.log = log_for(engine, account)
        if in_process:
            self.log.use_process(engine)

    def close(self) -> None:
        """End the owed writes' SQL process, if any (shutdown, after the last write)."""
        self.log.close_process()

    def _mine(self) -> list[Any]:
        """The condition that keeps a read to this account's rows (nothing with one account)."""
        return [col(OutboxRow.account) == self.account] if self.account else []

    @property
    def stats(self) -> WriteStats:
        return self.log.stats

    @property
    def failing(self) -> bool:
        return self.log.failing

    # -- ids -------------------------------------------------------------------------
    def seed_ids(self) -> None:
        self.log.seed_ids(self.engine)

    def allocate(self, count: int = 1) -> int:
        return self.log.allocate(self.engine, count)

    # -- owed writes -----------------------------------------------------------------------
    def insert_behind(self, row_id: int, draft: dict[str, Any], now: datetime) -> None:
        """Owe the insert of a queued row. While writes are refused, write it through (raises)."""
        row = {**QUEUED_DEFAULTS, "created_at": now, "not_before": None, **draft, "id": row_id}
        if self.log.failing:
            self.write([("insert", row_id, row)])
        else:
            self.log.owe_insert(row)

    def replace_behind(self, row_id: int, text: str, mentions: str) -> None:
        """Owe new text for a queued row (not_before is kept: a newer combined welcome waits as long)."""
        self.log.owe_text(row_id, text, mentions)

    def status_behind(self, row_id: int, values: dict[str, Any]) -> None:
        self.log.owe(("status", row_id, values))

    def cancel_behind(self, ids: list[int]) -> None:
        self.log.owe(("cancel", 0, {"ids": ids}))

    def owed(self) -> int:
        return self.log.owed()

    def write(self, extra: Sequence[Op] = ()) -> bool:
        """Commit what is owed, then `extra`, in one transaction (see `WriteLog.write`)."""
        return self.log.write(self.engine, extra)

    def flush(self) -> None:
        """Write what is owed now, in the calling thread (raises if the database refuses)."""
        self.write()

    # -- writes through ----------------------------------------------------------------
    def insert_many(self, conn: Connection, drafts: list[dict[str, object]], now: datetime) -> list[int]:
        """Insert queued rows inside the caller's transaction (used to tie posts to the ledger)."""
        if not drafts:
            return []
        first = self.allocate(len(drafts))
        ids = list(range(first, first + len(drafts)))
        rows = [
            {**QUEUED_DEFAULTS, "created_at": now, "not_before": None, **draft, "id": row_id}
            for row_id, draft in zip(ids, drafts, strict=True)
        ]
        _MULTIROW.run(conn, INSERT, rows)  # one multi-row INSERT per chunk of a fan-out on SQLite
        return ids

    def set_status(
        self, row_id: int, status: str, *, sent_at: datetime | None = None, error: str = "", attempts: int = 0
    ) -> None:
        """Change a row's status now, after everything owed."""
        self.write(
            [("status", row_id, status_values(status, sent_at=sent_at, error=error, attempts=attempts))]
        )

    def recover_inflight(self) -> int:
        """Mark messages caught mid-send by a crash as uncertain: never resent, so never doubled."""
        self.flush()
        with self.engine.begin() as conn:
            result = conn.execute(
                update(OutboxRow)
                .where(col(OutboxRow.status) == "sending", *self._mine())
                .values(status="uncertain")
            )
            return int(result.rowcount)

    # -- reads (after writing what is owed) ------------------------------------------------
    def queued(self) -> list[OutboxRow]:
        """Every queued row (this account's, which it now holds: see `claim`)."""
        self.flush()
        with self.engine.begin() as conn:
            if self.account:
                conn.execute(
                    update(OutboxRow)
                    .where(col(OutboxRow.status) == "queued", *self._mine())
                    .values(claimed=True)
                )
            rows = conn.execute(
                select(OutboxRow)
                .where(col(OutboxRow.status) == "queued", *self._mine())
                .order_by(col(OutboxRow.id))
            ).all()
        return [OutboxRow.model_validate(dict(r._mapping)) for r in rows]

    # -- several accounts -------------------------------------------------------------------
    def claim(self) -> list[OutboxRow]:
        """Take the rows other processes queued for this account (a timeline fan-out, a
        fail-over): each is handed to exactly one process, which then holds it in memory."""
        if not self.account:
            return []
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(OutboxRow)
                .where(
                    col(OutboxRow.account) == self.account,
                    col(OutboxRow.status) == "queued",
                    col(OutboxRow.claimed).is_(False),
                )
                .values(claimed=True)
                .returning(*OutboxRow.__table__.columns)  # type: ignore[attr-defined]
            ).all()
        return sorted((OutboxRow.model_validate(dict(r._mapping)) for r in rows), key=lambda r: r.id or 0)

    def member_groups(self, conn: Connection, member_ids: list[str]) -> dict[str, list[str]]:
        """The groups each member is in now (first seen first), read in the caller's transaction."""
        found: dict[str, list[str]] = {}
        for start in range(0, len(member_ids), 500):
            rows = conn.execute(
                select(col(Membership.member_id), col(Membership.group_id))
                .where(col(Membership.member_id).in_(member_ids[start : start + 500]))
                .where(col(Membership.left_at).is_(None))
                .order_by(col(Membership.first_seen_at))
            ).all()
            for member_id, group_id in rows:
                found.setdefault(member_id, []).append(group_id)
        return found

    def route_unrouted(self, route_member: Callable[[str, list[str]], str]) -> int:
        """Give each queued private message still UNROUTED ("?") the account `route_member` picks
        from the member's groups; the ones now this account's are then claimed as usual."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(col(OutboxRow.id), col(OutboxRow.member_id)).where(
                    col(OutboxRow.account) == "?", col(OutboxRow.status) == "queued"
                )
            ).all()
            if not rows:
                return 0
            homes = self.member_groups(conn, sorted({r[1] for r in rows}))
            by_account: dict[str, list[Any]] = {}  # account -> row ids
            for row_id, member_id in rows:
                account = route_member(member_id, homes.get(member_id, []))
                by_account.setdefault(account, []).append(row_id)
            for account, ids in by_account.items():
                conn.execute(
                    update(OutboxRow)
                    .where(col(OutboxRow.id).in_(ids), col(OutboxRow.account) == "?")
                    .values(account=account, claimed=False)
                )
        return len(rows)

    def take_over(self, down: str, groups: list[str]) -> int:
        """Move `down` account's still-queued posts to `groups` onto this account (to be claimed).

        Conditional on `queued`: a row the down process already marked `sending` stays its own,
        and its `sending` mark is conditional on the account, so no row leaves twice."""
        if not self.account or not groups:
            return 0
        with self.engine.begin() as conn:
            done = conn.execute(
                update(OutboxRow)
                .where(
                    col(OutboxRow.account) == down,
                    col(OutboxRow.status) == "queued",
                    col(OutboxRow.group_id).in_(groups),
                )
                .values(account=self.account, claimed=False)
            )
        return int(done.rowcount)

    def sent_since(self, since: datetime) -> list[tuple[str, str, datetime]]:
        """(group_id, member_id, sent_at) of messages sent since `since`, oldest first."""
        self.flush()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(OutboxRow.group_id), col(OutboxRow.member_id), col(OutboxRow.sent_at))
                .where(col(OutboxRow.sent_at) >= since, *self._mine())
                .order_by(col(OutboxRow.sent_at))
            ).all()
        return [(r[0], r[1], r[2]) for r in rows if r[2] is not None]

    def sent_at(self, row_id: int) -> datetime | None:
        self.flush()
        with self.engine.connect() as conn:
            row = conn.execute(select(col(OutboxRow.sent_at)).where(col(OutboxRow.id) == row_id)).first()
        return row[0] if row is not None else None

    def count_sent_since(self, since: datetime) -> int:
        self.flush()
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(col(OutboxRow.sent_at) >= since, *self._mine())
                ).scalar_one()
            )

    def all_rows(self) -> list[OutboxRow]:
        self.flush()
        with self.engine.connect() as conn:
            rows = conn.execute(select(OutboxRow).order_by(col(OutboxRow.id))).all()
        return [OutboxRow.model_validate(dict(r._mapping)) for r in rows]
