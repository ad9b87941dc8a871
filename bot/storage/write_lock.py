"""Taking SQLite's write lock by asking often, never by sleeping in SQLite's busy handler.

A transaction begins with ``BEGIN IMMEDIATE`` before its first write (bot/storage/engine.py).
SQLite's busy handler backs off to 100 ms between tries, while the bot's writer threads (the
inbound write-behind, the outbox write log, the order writer) each hold the lock for a few
milliseconds, many times a second: a waiter slept through the gaps and an order batch waited
seconds in the flash sale. So the lock is asked for with no busy wait:

* `begin_polling` (every writer, through the engine's first-write hook) asks every
  `POLL_SECONDS` until the connection's busy timeout has passed, then fails as SQLite would
  ("database is locked"): the same patience as before, without the oversleeping;
* `begin_write_nowait` asks once, for a caller on the event loop that yields and asks again
  (a timeline chunk, bot/campaign/fanout_lane.py).

Within one process, writers first queue on a `WriteGate` (one per database file): a
thread waiting for another thread's transaction blocks on a Python lock, so it neither
polls nor takes the interpreter lock from the event loop while it waits, and it starts
the moment the other commits. The polling above is then only for other processes (a
`tuanbot` command writing beside the bot). The engine releases the gate at commit or
rollback (bot/storage/engine.py); a holder whose transaction ended some other way is
noticed and the gate taken back, with an error logged.

A thread marked urgent (`mark_urgent_thread`: the order writer, whose batches are
acknowledged only after their commit) goes through the gate before the routine writers
waiting with it (the inbound log, the outbox rows, which nobody waits for): in a flash
sale an order batch otherwise queued behind one or two of theirs, 10 ms on average and up
to 35 ms a batch (docs/performance.md). Routine writers go as soon as no urgent one waits,
so the order writer's gaps between batches let them through.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any

from loguru import logger
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

_BEGIN = "BEGIN IMMEDIATE"
POLL_SECONDS = 0.001
QUICK_RETRIES = 5
DEFAULT_PATIENCE_SECONDS = 5.0  # a connection with no busy timeout set


STALE_CHECK_SECONDS = 0.05

_thread_marks = threading.local()


def mark_urgent_thread() -> None:
    """This thread's write transactions go through the gate before routine writers' (an
    executor's `initializer`)."""
    _thread_marks.urgent = True


def _urgent_thread() -> bool:
    return bool(getattr(_thread_marks, "urgent", False))


class WriteGate:
    """One writing transaction at a time among this process's connections to one SQLite file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._guard = threading.Lock()
        self._holder: sqlite3.Connection | None = None
        self._begun = False  # the holder's BEGIN went through (before it, "not in a transaction" is normal)
        self.waits = 0  # acquisitions that had to wait (tests, benches)
        self._urgent_waiting = 0
        self._counting = threading.Lock()
        self._no_urgent = threading.Event()  # set while no urgent writer waits
        self._no_urgent.set()

    def acquire(self, raw: sqlite3.Connection, timeout: float, *, urgent: bool = False) -> bool:
        """Take the gate for `raw`, waiting up to `timeout` seconds (0: do not wait); `urgent`
        goes before routine writers that are waiting."""
        if (urgent or self._no_urgent.is_set()) and self._lock.acquire(blocking=False):
            self._hold(raw)
            return True
        if timeout <= 0:
            return False
        self.waits += 1
        deadline = time.monotonic() + timeout
        if not urgent:
            return self._wait_routine(raw, deadline)
        with self._counting:
            self._urgent_waiting += 1
            self._no_urgent.clear()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if self._lock.acquire(timeout=min(left, STALE_CHECK_SECONDS)):
                    self._hold(raw)
                    return True
                self._take_back_if_stale()
        finally:
            with self._counting:
                self._urgent_waiting -= 1
                if not self._urgent_waiting:
                    self._no_urgent.set()

    def _wait_routine(self, raw: sqlite3.Connection, deadline: float) -> bool:
        """Wait for the gate, standing aside while an urgent writer waits for it too."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            step = min(left, STALE_CHECK_SECONDS)
            if self._no_urgent.wait(step) and self._lock.acquire(timeout=step):
                if self._no_urgent.is_set():
                    self._hold(raw)
                    return True
                self._lock.release()  # an urgent writer began waiting meanwhile: it goes first
                continue
            self._take_back_if_stale()

    def began(self, raw: sqlite3.Connection) -> None:
        if self._holder is raw:
            self._begun = True

    def release(self, raw: Any) -> None:
        """Give the gate back if `raw` holds it (called on every commit and rollback: cheap otherwise)."""
        if raw is None or self._holder is not raw:  # the pool passes None for an invalidated connection
            return
        with self._guard:  # two ends of one transaction (a rollback, then the pool's reset) may race
            if self._holder is not raw:
                return
            self._holder, self._begun = None, False
            self._lock.release()

    def _hold(self, raw: sqlite3.Connection) -> None:
        with self._guard:
            self._holder, self._begun = raw, False

    def _take_back_if_stale(self) -> None:
        holder = self._holder
        if holder is not None and self._begun and not holder.in_transaction:
            logger.error("write gate: its holder's transaction ended without a commit or rollback event")
            self.release(holder)


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def gate_for(path: str) -> WriteGate:
    """The gate of a database file, shared by every engine of this process on that file."""
    gate = _gates.get(path)  # every write transaction asks: no lock, no new gate, once it exists
    if gate is not None:
        return gate
    with _gates_lock:
        return _gates.setdefault(path, WriteGate())


class TimedConnection(sqlite3.Connection):
    """A SQLite connection that remembers the busy timeout its engine gave it (`make_engine`):
    every writer's BEGIN needs it, and asking SQLite is one more step, which in a flood is a
    5-35 ms wait for the interpreter lock with the write gate held (docs/performance.md)."""

    busy_timeout: int | None = None


def busy_timeout_ms(raw: sqlite3.Connection) -> int:
    known = getattr(raw, "busy_timeout", None)
    if known is not None:
        return int(known)
    return int(raw.execute("PRAGMA busy_timeout").fetchone()[0])


def patience_seconds(busy_timeout_ms: int) -> float:
    """How long a writer asks for the lock: the busy timeout, or the default where none is set."""
    return busy_timeout_ms / 1000 or DEFAULT_PATIENCE_SECONDS


def _try_begin(raw: sqlite3.Connection, timeout: int | None = None) -> bool:
    """One `BEGIN IMMEDIATE`, the busy timeout 0 for it alone; False if another writer holds the lock."""
    timeout = busy_timeout_ms(raw) if timeout is None else timeout
    raw.execute("PRAGMA busy_timeout=0")
    try:
        raw.execute(_BEGIN)
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            return False
        raise
    finally:
        raw.execute(f"PRAGMA busy_timeout={timeout}")
    return True


def begin_polling(raw: sqlite3.Connection, gate: WriteGate | None = None) -> None:
    """`BEGIN IMMEDIATE` on a raw SQLite connection, after `gate`; asks every millisecond up to
    its busy timeout (the wait for the gate counts against it)."""
    timeout = busy_timeout_ms(raw)  # once per transaction; put back after each try
    patience = patience_seconds(timeout)
    deadline = time.monotonic() + patience
    if gate is not None and not gate.acquire(raw, patience, urgent=_urgent_thread()):
        raise sqlite3.OperationalError("database is locked")
    tries = 0
    try:
        while not _try_begin(raw, timeout):
            if time.monotonic() >= deadline:
                raise sqlite3.OperationalError("database is locked")
            tries += 1
            # The gate is given back as the previous holder's COMMIT starts: a few bare yields
            # usually see it finish; after that, another process holds the lock: poll.
            time.sleep(0 if tries <= QUICK_RETRIES else POLL_SECONDS)
    except BaseException:
        if gate is not None:
            gate.release(raw)
        raise
    if gate is not None:
        gate.began(raw)


def begin_write_nowait(conn: Connection) -> bool:
    """Begin `conn`'s transaction holding the write lock; False at once if another connection has it.

    `conn` must be in a SQLAlchemy transaction that has not written yet (``engine.begin()``).
    On SQLite the connection's busy timeout is set to 0 for the BEGIN alone and then put back.
    Other dialects lock rows, not the database, so there is nothing to take up front: True.
    """
    if conn.dialect.name != "sqlite":
        return True
    raw: Any = conn.connection.driver_connection
    if raw.in_transaction:
        return True  # already holds the lock (a write or a SAVEPOINT began it)
    gate = _engine_gate(conn)
    if gate is not None and not gate.acquire(raw, 0):
        return False
    try:
        begun = _try_begin(raw)
    except sqlite3.OperationalError as exc:
        if gate is not None:
            gate.release(raw)
        raise OperationalError(_BEGIN, None, exc) from exc
    if gate is not None:
        gate.began(raw) if begun else gate.release(raw)
    return begun


def take_write_lock(conn: Connection) -> None:
    """Begin `conn`'s transaction (begun in SQLAlchemy, nothing written yet) holding the write lock."""
    if conn.dialect.name != "sqlite":
        return
    raw: Any = conn.connection.driver_connection
    if raw.in_transaction:
        return
    try:
        begin_polling(raw, _engine_gate(conn))
    except sqlite3.OperationalError as exc:
        raise OperationalError(_BEGIN, None, exc) from exc


def engine_gate(engine: Engine) -> WriteGate | None:
    """The write gate of a SQLite file engine (None in memory or on another dialect)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return gate_for(os.path.abspath(database))


def _engine_gate(conn: Connection) -> WriteGate | None:
    return engine_gate(conn.engine)


def locked_error() -> OperationalError:
    """The error a write gets once the busy timeout runs out, for a caller that stopped asking."""
    return OperationalError(_BEGIN, None, sqlite3.OperationalError("database is locked"))


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (int(code) & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
