"""`begin_write_nowait`: take SQLite's write lock now or say it is taken, without the busy wait."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.engine import make_engine
from bot.storage.write_lock import begin_write_nowait


def test_the_write_lock_is_taken_at_once_or_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout_ms=60_000)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with engine.begin() as conn:
        assert not begin_write_nowait(conn)  # a 60 s busy timeout, and no wait at all
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000  # put back
    other.execute("ROLLBACK")
    with engine.begin() as conn:
        assert begin_write_nowait(conn)
        assert begin_write_nowait(conn)  # already holding it
        conn.execute(text("INSERT INTO t VALUES (1)"))
        # While this transaction holds the lock, another writer is refused at once.
        other.execute("PRAGMA busy_timeout=0")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    assert other.execute("SELECT count(*) FROM t").fetchone() == (1,)
    other.close()
    engine.dispose()


def test_a_write_transaction_does_not_ask_sqlite_for_its_busy_timeout(tmp_path: Path) -> None:
    """Every writer's BEGIN read the connection's busy timeout back from SQLite: one more step,
    which in a flood is a 5-35 ms wait for the interpreter lock with the write gate held
    (docs/performance.md). The engine set that timeout itself; the connection remembers it."""
    from sqlalchemy import event

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=4_321)
    seen: list[str] = []

    @event.listens_for(engine, "connect")
    def trace(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(seen.append)

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    seen.clear()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4_321  # as the engine set it
    asked = [s for s in seen if s.strip().upper() == "PRAGMA BUSY_TIMEOUT"]
    assert asked == ["PRAGMA busy_timeout"], seen  # only the test's own question
    assert "BEGIN IMMEDIATE" in seen
    engine.dispose()
