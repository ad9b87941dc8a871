"""The outbox table's owed writes: an ordered log committed in batches, one transaction each.

The outbox asks for a write (a new row, newer text, a cancellation, a status) and
goes on; `write()` later commits everything owed, oldest first, in one
transaction, from the send loop's worker thread. If the database refuses, the
writes stay owed, in order, and are retried: none is dropped. Ids are given here,
in memory, counting on from the table's largest id: one process holds the
database (the lease in `bot/storage/lease.py`), so no one else takes an id. With
several account processes on one database each reserves blocks of ids in
`id_blocks` instead (`reserve_ids`), so their ids never meet.

There is one log per database in a process, whatever the number of stores on it:
a second outbox on the same database (a restart in a test, a tool run beside the
bot object) must see the rows the first still owes and must not hand out the same
ids again.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlmodel import col

from bot.storage.engine import upsert_insert
from bot.storage.multirow import MultiRowInserts, execute_prepared, updates_by_key
from bot.storage.outbox_child import OutboxProcess, Planned
from bot.storage.sql_process import can_have_process
from bot.storage.tables import IdBlock, OutboxRow

# One owed write: (what, row id, values). "insert": the row; "text": new text and mentions of a
# still-queued row; "status": a status change and its columns; "cancel": values["ids"] if still queued.
Op = tuple[str, int, dict[str, Any]]

QUEUED_DEFAULTS: dict[str, object] = {
    "status": "queued",
    "attempts": 0,
    "last_error": "",
    "account": "",
    "claimed": True,
}
ID_BLOCK = 2000  # ids one account process reserves at a time (one round trip per block)
INSERT = insert(OutboxRow)
_TABLE = OutboxRow.__table__  # type: ignore[attr-defined]
# Runs of owed inserts and updates go as multi-row statements on SQLite: the pass holds the
# process's write gate, and stepping once a row kept the order writer waiting (bot/storage/multirow.py).
_INSERTS = MultiRowInserts()


@dataclass
class WriteStats:
    batches: int = 0
    ops: int = 0
    largest_batch: int = 0


def status_values(
    status: str, *, sent_at: datetime | None = None, error: str = "", attempts: int = 0
) -> dict[str, Any]:
    """The columns a status change writes."""
    values: dict[str, Any] = {"status": status}
    if sent_at is not None:
        values["sent_at"] = sent_at
    if error:
        values["last_error"] = error[:500]
    if attempts:
        values["attempts"] = attempts
    return values


def apply_ops(conn: Connection, ops: Sequence[Op], account: str = "", *, answer: bool = True) -> bool:
    """Run `ops` in order; consecutive inserts go as one statement, and so do consecutive updates of
    one shape (newer texts, sent marks). `answer`: whether the last op changed a row (it then
    runs alone, for its row count).

    With several accounts, a `sending` mark lands only on a row still `account`'s: a row
    another account took over (fail-over) is never sent by both."""
    return run_planned(conn, plan_ops(conn.dialect, ops, account, answer=answer))


def plan_ops(dialect: Dialect, ops: Sequence[Op], account: str = "", *, answer: bool = True) -> list[Planned]:
    """`apply_ops`'s statements, built before the transaction: the send loop's writes held the
    write lock for the Python that built them too, stretched by the busy event loop's share of the
    interpreter lock (docs/performance.md)."""
    planned: list[Planned] = []
    i = 0
    while i < len(ops):
        kind, row_id, values = ops[i]
        if kind == "insert":
            rows = []
            while i < len(ops) and ops[i][0] == "insert":
                rows.append(ops[i][2])
                i += 1
            planned.append((True, _insert_statements(dialect, rows)))
            continue
        if kind == "cancel":
            stmt = update(OutboxRow).where(col(OutboxRow.id).in_(values["ids"]), _QUEUED)
            planned.append((False, [(stmt.values(status="cancelled"), None)]))
            i += 1
            continue
        shape = _shape(kind, values, account)
        run = [(row_id, values)]
        i += 1
        last = len(ops) - 1 if answer else len(ops)  # the answering op keeps a statement of its own
        while i < last and ops[i][0] != "cancel" and _shape(ops[i][0], ops[i][2], account) == shape:
            run.append((ops[i][1], ops[i][2]))
            i += 1
        planned.append((False, _update_statements(dialect, shape, run)))
    return planned


def run_planned(conn: Connection, planned: Sequence[Planned]) -> bool:
    """Run `plan_ops`'s statements in order; whether the last run changed a row."""
    changed = False
    for inserts, statements in planned:
        changed = inserts
        for statement, params in statements:
            changed = bool(execute_prepared(conn, statement, params).rowcount) or changed
    return changed


def _insert_statements(dialect: Dialect, rows: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    statements: list[tuple[Any, Any]] = []
    start = 0
    while start < len(rows):  # runs of one key set: a multi-row INSERT takes one shape of row
        keys, end = rows[start].keys(), start + 1
        while end < len(rows) and rows[end].keys() == keys:
            end += 1
        chunks = _INSERTS.prepare(dialect, INSERT, rows[start:end])
        statements += chunks if chunks is not None else [(INSERT, rows[start:end])]
        start = end
    return statements


def _update_statements(
    dialect: Dialect, shape: _Shape, run: list[tuple[int, dict[str, Any]]]
) -> list[tuple[Any, Any]]:
    """One run of updates of one shape."""
    columns, queued_only, account = shape
    conditions = [("status", "queued")] if queued_only else []
    if account:
        conditions.append(("account", account))
    rows = [{"id": row_id, **values} for row_id, values in run]
    chunks = updates_by_key(dialect, _TABLE, "id", columns, rows, conditions)
    if chunks is None:
        return [(_update_statement(shape), [_params(row_id, values) for row_id, values in run])]
    return list(chunks)


# A shape: (columns set, only a still-queued row, only this account's row). Its statement is
# built once, with bound parameters, so a pass of many updates compiles nothing.
_Shape = tuple[tuple[str, ...], bool, str]
_QUEUED = col(OutboxRow.status) == "queued"
_STATEMENTS: dict[_Shape, Any] = {}


def _shape(kind: str, values: dict[str, Any], account: str) -> _Shape:
    sending = values.get("status") == "sending"
    return tuple(sorted(values)), kind == "text" or sending, account if account and sending else ""


def _params(row_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return {"row_id": row_id, **{f"new_{key}": value for key, value in values.items()}}


def _update_statement(shape: _Shape) -> Any:
    stmt = _STATEMENTS.get(shape)
    if stmt is None:
        columns, queued_only, account = shape
        where = [col(OutboxRow.id) == bindparam("row_id")]
        if queued_only:
            where.append(_QUEUED)  # only a row that has not left
        if account:
            where.append(col(OutboxRow.account) == account)
        stmt = update(OutboxRow).where(*where).values({key: bindparam(f"new_{key}") for key in columns})
        _STATEMENTS[shape] = stmt
    return stmt


class WriteLog:
    """The owed writes and the id counter of one database's outbox table."""

    def __init__(self, account: str = "") -> None:
        self.account = account  # several accounts: this process's; ids come in reserved blocks
        self._block_end = 0
        self._spare: tuple[int, int] | None = None  # the next reserved block, taken off the loop
        self.stats = WriteStats()
        self.failing = False  # the last write was refused: new rows are written through until one passes
        self._ops: list[Op] = []
        self._owed_rows: dict[int, dict[str, Any]] = {}  # inserts still in `_ops`, to update in place
        self._owed_texts: dict[int, dict[str, Any]] = {}  # a row's newest text op, nothing of it after
        self._next_id: int | None = None
        self._mutex = threading.Lock()  # guards the log and the id counter (the writer is a thread)
        self._writing = threading.Lock()  # one write at a time, so batches commit in order
        self.process: OutboxProcess | None = None  # where the owed writes commit (`use_process`)

    # -- ids -------------------------------------------------------------------------
    def seed_ids(self, engine: Engine) -> None:
        """Count ids on from the table's largest (start-up; the lease keeps other processes out)."""
        if self.account:
            return  # blocks are reserved as they are needed
        with engine.connect() as conn:
            top = conn.execute(select(func.max(col(OutboxRow.id)))).scalar()
        with self._mutex:
            self._next_id = max(self._next_id or 1, int(top or 0) + 1)

    def allocate(self, engine: Engine, count: int = 1) -> int:
        """Reserve `count` consecutive ids; the first. An id whose row is never written is skipped."""
        if self.account:
            return self._allocate_from_blocks(engine, count)
        if self._next_id is None:
            self.seed_ids(engine)
        with self._mutex:
            assert self._next_id is not None
            first = self._next_id
            self._next_id += count
        return first

    def _allocate_from_blocks(self, engine: Engine, count: int) -> int:
        with self._mutex:
            if self._next_id is not None and self._next_id + count <= self._block_end:
                first = self._next_id
                self._next_id += count
                return first
            spare, self._spare = self._spare, None
        if spare is None or spare[0] + count > spare[1]:
            first = reserve_ids(engine, max(count, ID_BLOCK))  # ran dry between passes: one round trip
            spare = (first, first + max(count, ID_BLOCK))
        with self._mutex:
            self._next_id, self._block_end = spare[0] + count, spare[1]
        return spare[0]

    def top_up(self, engine: Engine) -> None:
        """Reserve the next block before this one runs out (the send loop's thread, not the loop)."""
        if not self.account or self._spare is not None:
            return
        first = reserve_ids(engine, ID_BLOCK)
        with self._mutex:
            self._spare = (first, first + ID_BLOCK)

    # -- owing -------------------------------------------------------------------------
    def owe_insert(self, row: dict[str, Any]) -> None:
        with self._mutex:
            self._ops.append(("insert", row["id"], row))
            self._owed_rows[row["id"]] = row

    def owe_text(self, row_id: int, text: str, mentions: str) -> None:
        with self._mutex:
            row = self._owed_rows.get(row_id)
            if row is None:  # written already: the row's last text op, if still last, takes it
                row = self._owed_texts.get(row_id)
            if row is not None:  # a rolling post re-rendered 80 times a pass is one write, not 80
                row["text"], row["mentions"] = text, mentions
                return
            values = {"text": text, "mentions": mentions}
            self._ops.append(("text", row_id, values))
            self._owed_texts[row_id] = values

    def owe(self, op: Op) -> None:
        with self._mutex:
            self._ops.append(op)
            for row_id in op[2]["ids"] if op[0] == "cancel" else (op[1],):
                self._owed_texts.pop(row_id, None)  # a later text must come after this op

    def owed(self) -> int:
        """How many writes wait for the next `write()`."""
        return len(self._ops)

    # -- writing -------------------------------------------------------------------------
    def use_process(self, engine: Engine) -> None:
        """Commit the owed writes in a SQL process of their own, where the engine allows it."""
        with self._writing:
            if self.process is None and can_have_process(engine):
                self.process = OutboxProcess(engine)

    def close_process(self) -> None:
        """End the SQL process (shutdown); a later write runs here, or starts one again if asked."""
        with self._writing:
            process, self.process = self.process, None
        if process is not None:
            process.close()

    def write(self, engine: Engine, extra: Sequence[Op] = ()) -> bool:
        """Commit every owed write, then `extra`, in one transaction; whether `extra`'s last op hit a row.
        With a SQL process (`use_process`), the owed writes commit there and `extra` here right
        after, in a transaction of its own (`bot.storage.outbox_child`).

        If the database refuses, the owed writes stay owed, in order (retried by the next
        call), `extra` is dropped (its caller learns it failed), and the error is raised.
        """
        with self._writing:
            with self._mutex:
                batch, self._ops = self._ops, []
                self._owed_rows, self._owed_texts = {}, {}
            if not batch and not extra:
                return False
            ops = len(batch) + len(extra)
            hit = False
            try:
                owed = plan_ops(engine.dialect, batch, self.account, answer=False)
                asked = plan_ops(engine.dialect, extra, self.account)
                if batch and self.process is not None and self.process.commit(owed):
                    batch, owed = [], []  # committed: not owed again if `extra` fails
                if owed or asked:
                    with engine.begin() as conn:
                        run_planned(conn, owed)
                        hit = run_planned(conn, asked)  # False for no `extra`: nothing ran
            except BaseException:
                with self._mutex:
                    self._ops[:0] = batch
                self.failing = True
                raise
            self.failing = False
            self.stats.batches += 1
            self.stats.ops += ops
            self.stats.largest_batch = max(self.stats.largest_batch, ops)
        self.top_up(engine)
        return hit


_LOGS: weakref.WeakValueDictionary[str, WriteLog] = weakref.WeakValueDictionary()
_LOGS_LOCK = threading.Lock()


def reserve_ids(engine: Engine, count: int) -> int:
    """Reserve `count` outbox ids for this process in the `id_blocks` row; the first.

    The row starts after the table's largest id, so rows written before several accounts ran
    keep theirs; the conditional increment makes two processes' blocks disjoint."""
    name = OutboxRow.__tablename__
    with engine.begin() as conn:
        start = select(func.coalesce(func.max(col(OutboxRow.id)), 0) + 1).scalar_subquery()
        conn.execute(upsert_insert(engine)(IdBlock).values(name=name, next_id=start).on_conflict_do_nothing())
        top = conn.execute(
            update(IdBlock)
            .where(col(IdBlock.name) == name)
            .values(next_id=col(IdBlock.next_id) + count)
            .returning(col(IdBlock.next_id))
        ).scalar_one()
    return int(top) - count


def log_for(engine: Engine, account: str = "") -> WriteLog:
    """The write log of `engine`'s database and account in this process (in-memory: its own)."""
    url = engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    key = str(id(engine)) if in_memory else url.render_as_string(hide_password=False)
    key = f"{key}#{account}"
    with _LOGS_LOCK:
        log = _LOGS.get(key)
        if log is None:
            log = WriteLog(account)
            _LOGS[key] = log
        return log
