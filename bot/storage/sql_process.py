"""The bot's side of `bot.storage.sql_child`: start it, hand it SQL, turn its answers into exceptions.

Used by one thread at a time (the write-behind writer's). The child starts on first use and again
after it died (a crash, a kill: the batch in flight is reported as a transient failure, so the
writer keeps it and retries it, and its statements are idempotent). `close()` ends it by closing
its stdin, which is also what happens when the bot dies.
"""

from __future__ import annotations

import contextlib
import os
import select
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from loguru import logger
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.storage.multirow import MultiRowInserts
from bot.storage.rowops import Entry, Shapes, runs_of
from bot.storage.sql_child import NICENESS, Item, read_message, write_message
from bot.storage.write_lock import busy_timeout_ms, engine_gate

_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the `bot` package
ANSWER_TIMEOUT_SECONDS = 120.0  # a child this slow is stuck: killed, the batch retried


def can_have_process(engine: Engine) -> bool:
    """Whether `engine`'s writes can go to a SQL process: a SQLite file only (another process
    cannot see an in-memory database; PostgreSQL has no write gate for a thread to hold while it
    waits for the interpreter lock), on POSIX (the child's pipes are read with `select`)."""
    return engine_gate(engine) is not None and os.name == "posix"


class SqlProcessGone(ConnectionError):
    """The child exited or stopped answering (a transient failure: the writer retries)."""


class SqlProcess:
    """A `sql_child` process writing to the SQLite file of `engine`, with its pragmas."""

    def __init__(self, engine: Engine, name: str, niceness: int = NICENESS) -> None:
        self.engine = engine
        self.name = name
        self.niceness = niceness  # added to the bot's for the child (`sql_child.main`)
        self._proc: subprocess.Popen[bytes] | None = None

    def batch(self, items: list[Item], patience: float | None = None) -> None:
        """Run `items` in one transaction; raise as the engine would have if it failed.
        `patience`: seconds to ask for the write lock (None: the busy timeout)."""
        answer = self._ask(("batch", items) if patience is None else ("batch", items, patience))
        if answer[0] == "ok":
            return
        _, transient, kind, message, code = answer
        orig = getattr(sqlite3, kind, sqlite3.DatabaseError)(message)
        if code is not None:
            orig.sqlite_errorcode = code
        sql = items[0][0][:200] if items else ""
        if transient:
            raise OperationalError(sql, None, orig)
        raise DBAPIError(sql, None, orig)

    def each(self, items: list[Item]) -> list[tuple[str, str] | None]:
        """Run each item in a transaction of its own; per item, None or (error kind, message)."""
        answer = self._ask(("each", items))
        failures: list[tuple[str, str] | None] = answer[1]
        return failures

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _ask(self, request: tuple[Any, ...]) -> Any:
        proc = self._running()
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None
        try:
            write_message(stdin, request)
            answer = _read_within(stdout, ANSWER_TIMEOUT_SECONDS)
        except (OSError, ValueError) as exc:  # a broken pipe, a closed stream
            answer = None
            cause: BaseException | None = exc
        else:
            cause = None
        if answer is None:
            self._discard(proc)
            stopped = f"{self.name}: the SQL process stopped (exit code {proc.returncode})"
            raise SqlProcessGone(stopped) from cause
        return answer

    def _running(self) -> subprocess.Popen[bytes]:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            return proc
        if proc is not None:
            self._discard(proc)
        setup = self._setup()
        path = os.pathsep.join(filter(None, (_ROOT, os.environ.get("PYTHONPATH"))))
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.storage.sql_child", setup[0]],  # `ps` shows which database
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert proc.stdin is not None
        write_message(proc.stdin, setup)
        self._proc = proc
        logger.debug("{}: SQL process {} started", self.name, proc.pid)
        return proc

    def _setup(self) -> tuple[str, int, int, bool, int]:
        """The child's connection is the engine's: same file, busy timeout, synchronous, foreign keys."""
        with self.engine.connect() as conn:
            raw: Any = conn.connection.driver_connection
            busy = busy_timeout_ms(raw)
            synchronous = int(raw.execute("PRAGMA synchronous").fetchone()[0])
            foreign_keys = bool(raw.execute("PRAGMA foreign_keys").fetchone()[0])
        path = os.path.abspath(str(self.engine.url.database))
        return path, busy, synchronous, foreign_keys, self.niceness

    def _discard(self, proc: subprocess.Popen[bytes]) -> None:
        if self._proc is proc:
            self._proc = None
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _read_within(stream: IO[bytes], timeout: float) -> Any:
    """The child's next answer, or None if it closed the stream or said nothing for `timeout`."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return None
    return read_message(stream)


class ChildWriter:
    """A write-behind writer's batches, run by a `SqlProcess` (one per writer thread).

    A batch goes to the child as the driver's SQL (`MultiRowInserts.driver_form`); a batch with a
    statement that has no such form (Python-side defaults, RETURNING) is left to the caller.
    """

    def __init__(self, engine: Engine, name: str, shapes: Shapes) -> None:
        self.engine = engine
        self.process = SqlProcess(engine, name)
        self._shapes = shapes
        self._multirow = MultiRowInserts()

    def commit(self, batch: list[Entry]) -> bool:
        """Commit `batch` in the child (raising as the engine would); False if it cannot go there."""
        items = self._items(batch)
        if items is None:
            return False
        self.process.batch(items)
        return True

    def each(self, batch: list[Entry]) -> list[tuple[str, str] | None] | None:
        """Each entry in its own transaction (after a batch failed on a bad row): per entry, None
        or what failed; None if some entry cannot go to the child."""
        items: list[Item] = []
        for entry in batch:
            one = self._items([entry])
            if one is None or len(one) != 1:
                return None
            items += one
        return self.process.each(items)

    def close(self) -> None:
        self.process.close()

    def _items(self, batch: list[Entry]) -> list[Item] | None:
        items: list[Item] = []
        for run in runs_of(batch):
            found = self._shapes.values_run_of(run)
            if found is None:
                return None
            form = self._multirow.driver_form(self.engine.dialect, *found)
            if form is None:
                return None
            items += form
        return items


class Held:
    """What one writer thread holds: a connection (its batches in this process), a child writer
    (its batches in a SQL process of their own)."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.child: ChildWriter | None = None

    def drop_connection(self) -> None:
        if self.conn is not None:
            self.conn.invalidate()
            self.conn.close()
            self.conn = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.child is not None:
            self.child.close()
