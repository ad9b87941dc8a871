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
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

_BEGIN = "BEGIN IMMEDIATE"
POLL_SECONDS = 0.001
DEFAULT_PATIENCE_SECONDS = 5.0  # a connection with no busy timeout set


def _try_begin(raw: sqlite3.Connection) -> bool:
    """One `BEGIN IMMEDIATE`, the busy timeout 0 for it alone; False if another writer holds the lock."""
    timeout = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
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


def begin_polling(raw: sqlite3.Connection) -> None:
    """`BEGIN IMMEDIATE` on a raw SQLite connection, asking every millisecond up to its busy timeout."""
    if _try_begin(raw):
        return
    patience = int(raw.execute("PRAGMA busy_timeout").fetchone()[0]) / 1000 or DEFAULT_PATIENCE_SECONDS
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        if _try_begin(raw):
            return
    raise sqlite3.OperationalError("database is locked")


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
    try:
        return _try_begin(raw)
    except sqlite3.OperationalError as exc:
        raise OperationalError(_BEGIN, None, exc) from exc


def take_write_lock(conn: Connection) -> None:
    """Begin `conn`'s transaction (begun in SQLAlchemy, nothing written yet) holding the write lock."""
    if conn.dialect.name != "sqlite":
        return
    raw: Any = conn.connection.driver_connection
    if raw.in_transaction:
        return
    try:
        begin_polling(raw)
    except sqlite3.OperationalError as exc:
        raise OperationalError(_BEGIN, None, exc) from exc


def locked_error() -> OperationalError:
    """The error a write gets once the busy timeout runs out, for a caller that stopped asking."""
    return OperationalError(_BEGIN, None, sqlite3.OperationalError("database is locked"))


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (int(code) & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
