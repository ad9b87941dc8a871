"""The outbox log's owed writes, committed by a SQL process of their own (`bot.storage.sql_child`).

Why: the send loop's worker thread ran each pass's statements in the bot's process, and every
SQLite statement gives the interpreter lock up and waits for the busy event loop to hand it back,
holding SQLite's write lock all the while: in a flash sale the outbox's passes held or waited for
the lock 1.3 s in 29 transactions, and the order writer queued behind them (docs/performance.md).
In a process of its own a pass holds the lock for SQLite's time only, and the bot's interpreter is
spared the statements. The inbound log's writer has worked this way since session 32.

What goes there: a pass's owed writes, planned as the driver's SQL before it (`plan_ops`). A pass
with a statement that has no driver form (a cancellation's list of ids) runs in this process as
before. What a caller needs a row count from (`extra`: the `sending` mark) is not sent there: it
runs here, in a transaction of its own, right after the owed writes committed.

Exactly once: the owed inserts carry their ids. A SQL process that dies after committing and
before answering leaves the outcome unknown; the pass is owed again, and its retry inserts with
``ON CONFLICT (id) DO NOTHING``, so a row already in the table is neither doubled nor the reason
the retry fails. Its updates set the same values again, and nothing written later can have come
between (the log writes one pass at a time, the owed ones first).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Dialect, Engine

from bot.storage.multirow import MultiRowInserts
from bot.storage.sql_child import Item
from bot.storage.sql_process import SqlProcess
from bot.storage.write_lock import busy_timeout_ms, engine_gate, locked_error, patience_seconds

# A planned run of ops (`bot.storage.outbox_log.plan_ops`): whether it inserts (it then changed rows
# whatever its counts say), and its statements, each (driver SQL, parameters) or (SQLAlchemy
# statement, parameters or None).
Planned = tuple[bool, list[tuple[Any, Any]]]

RETRY_INSERT = " ON CONFLICT (id) DO NOTHING"  # the outbox's key: a retried pass's rows, once each
_FORMS = MultiRowInserts()


def driver_items(dialect: Dialect, planned: Sequence[Planned], *, retry: bool = False) -> list[Item] | None:
    """The planned runs as (SQL, parameters) items the SQL process runs as they are; None if a
    statement has no such form. `retry`: the pass may have committed already (see the module)."""
    items: list[Item] = []
    for inserts, statements in planned:
        for statement, params in statements:
            found = _driver_form(dialect, statement, params)
            if found is None:
                return None
            if inserts and retry:
                found = [(sql + RETRY_INSERT, values) for sql, values in found]
            items += found
    return items


def _driver_form(dialect: Dialect, statement: Any, params: Any) -> list[Item] | None:
    if isinstance(statement, str):
        return [(statement, params)]
    if params is None:
        return None  # a statement carrying its own values (a cancellation's IN list)
    rows = params if isinstance(params, list) else [params]
    return _FORMS.driver_form(dialect, statement, tuple(rows[0]), [tuple(row.values()) for row in rows])


class OutboxProcess:
    """The SQL process of one database's outbox log (used under the log's one-pass-at-a-time lock)."""

    def __init__(self, engine: Engine) -> None:
        # Not niced below the bot, as the inbound log's is: a pass holds the write lock that the
        # order writer waits for (a flash sale's receipt → commit p50 was 1.2-1.5 s with the
        # process niced, 0.4-0.6 s not, in runs before the pass took the write gate).
        self.process = SqlProcess(engine, "outbox-writer", niceness=0)
        self.unsure = False  # the last pass died with the process: committed or not, unknown
        self.engine = engine
        self.gate = engine_gate(engine)
        self._patience_seconds: float | None = None

    def commit(self, planned: Sequence[Planned]) -> bool:
        """Commit `planned` there (raising as the engine would); False if it cannot go there."""
        items = driver_items(self.engine.dialect, planned, retry=self.unsure)
        if items is None:
            return False
        if not items:
            return True
        # Through this process's write gate, as a routine writer: an order batch waiting for the
        # lock goes first, as it did when the outbox wrote from its thread (bot/storage/write_lock.py).
        # The wait for the gate counts against the busy timeout, as for the thread's own writers.
        patience = self._patience()
        deadline = time.monotonic() + patience
        token = object()
        if self.gate is not None and not self.gate.acquire(token, patience):  # type: ignore[arg-type]
            raise locked_error()
        try:
            self.process.batch(items, max(0.0, deadline - time.monotonic()))
        except ConnectionError:  # the process died: the pass may or may not have committed
            self.unsure = True
            raise
        finally:
            if self.gate is not None:
                self.gate.release(token)
        self.unsure = False
        return True

    def _patience(self) -> float:
        """The engine's busy timeout, as its own writers wait for the gate."""
        if self._patience_seconds is None:
            with self.engine.connect() as conn:
                raw: Any = conn.connection.driver_connection
                self._patience_seconds = patience_seconds(busy_timeout_ms(raw))
        return self._patience_seconds

    def close(self) -> None:
        self.process.close()


__all__ = ["OutboxProcess", "Planned", "driver_items"]
