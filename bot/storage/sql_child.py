"""The write-behind writer's SQLite work, run in a process of its own (`python -m bot.storage.sql_child`).

Why a process: SQLite gives up the interpreter lock for every statement it steps, and a writer
thread then waits for the busy event loop to hand it back (up to the 5 ms switch interval) once
per statement, holding SQLite's write lock all the while: the inbound log's transactions held the
lock most of a flood and fell seconds behind (docs/performance.md). Here the statements run under
an interpreter lock nobody else wants, so a transaction holds the write lock for the time SQLite
needs, and the bot's interpreter is spared the work.

The child knows SQL and SQLite only (it imports nothing of the bot's: it starts in tens of
milliseconds). It reads requests from stdin and answers each on stdout, one length-prefixed
pickle per message (`read_message` / `write_message`):

* ``("batch", items)``: every ``(sql, params)`` item in one transaction, begun with
  ``BEGIN IMMEDIATE`` (asked for every millisecond, up to the busy timeout, as the bot's own
  writers do); the answer is ``("ok",)`` once committed, or ``("error", transient, kind,
  message, code)`` after a rollback; ``("batch", items, seconds)`` asks for the lock for
  `seconds` instead (what is left of the busy timeout after the bot's own write gate);
* ``("each", items)``: each item in a transaction of its own (a batch that failed on a bad row);
  the answer is ``("each", failures)``, None or ``(kind, message)`` per item.

It exits when stdin closes (the bot stopped or was killed: nothing is left half-done, since a
transaction commits whole or not at all).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sqlite3
import struct
import sys
import time
from typing import IO, Any

_LENGTH = struct.Struct("!I")
POLL_SECONDS = 0.001
QUICK_RETRIES = 5
NICENESS = 5
DEFAULT_PATIENCE_SECONDS = 5.0  # bot.storage.write_lock's, for a connection with no busy timeout

Item = tuple[str, tuple[Any, ...]]


def write_message(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_message(stream: IO[bytes]) -> Any:
    """The next message, or None at end of stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def is_transient(exc: BaseException) -> bool:
    """As the bot's writer judges it (bot.storage.writebehind.is_transient): the database or its
    disk, worth retrying as it is; a missing table does not come back by waiting."""
    if isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc):
        return False
    return isinstance(exc, sqlite3.OperationalError | OSError)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (int(code) & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


class Writer:
    """One connection; the busy timeout is ours to keep (the connection's own is 0)."""

    def __init__(self, path: str, busy_timeout_ms: int, synchronous: int, foreign_keys: bool) -> None:
        self.patience = busy_timeout_ms / 1000 or DEFAULT_PATIENCE_SECONDS  # 0: none set, as in the bot
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=0")
        self.conn.execute(f"PRAGMA synchronous={int(synchronous)}")
        self.conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")

    def begin(self, patience: float | None = None) -> None:
        deadline = time.monotonic() + (self.patience if patience is None else patience)
        tries = 0
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            tries += 1
            time.sleep(0 if tries <= QUICK_RETRIES else POLL_SECONDS)

    def transaction(self, items: list[Item], patience: float | None = None) -> None:
        self.begin(patience)
        try:
            for sql, params in items:
                self.conn.execute(sql, params)
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def serve(self, request: tuple[Any, ...]) -> tuple[Any, ...]:
        kind, items, *rest = request
        patience: float | None = rest[0] if rest else None
        if kind == "each":
            failures: list[tuple[str, str] | None] = []
            for item in items:
                try:
                    self.transaction([item])
                    failures.append(None)
                except Exception as exc:
                    failures.append((type(exc).__name__, str(exc)))
            return ("each", failures)
        try:
            self.transaction(items, patience)
        except Exception as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            return ("error", is_transient(exc), type(exc).__name__, str(exc), code)
        return ("ok",)


def main() -> int:
    """Serve requests from stdin until it closes."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    setup = read_message(source)
    if setup is None:
        return 0
    path, busy_timeout_ms, synchronous, foreign_keys, niceness = setup
    # The niceness the bot asks for. The inbound log's process runs behind the bot for the
    # processor (on a machine with as many busy threads as cores, the event loop goes first and
    # the log catches up a moment later); the outbox's does not (0): its passes hold the write
    # lock that the order writer waits for (docs/performance.md).
    if niceness:
        with contextlib.suppress(OSError):
            os.nice(niceness)
    writer = Writer(path, busy_timeout_ms, synchronous, foreign_keys)
    while True:
        request = read_message(source)
        if request is None:
            return 0
        write_message(sink, writer.serve(request))


if __name__ == "__main__":
    sys.exit(main())
