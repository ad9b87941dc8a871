"""The SQLite engine keeps a connection for each thread that writes or reads (issue 14).

With SQLAlchemy's default pool (5 kept, 10 more closed on return) the bot's dozen threads (the
loop's executor, the background reads, the order writer, the write-behind writers) closed and
reopened connections all through a flood: ~4 a second, each re-running the pragmas and SQLite's
schema parse, and each closing one under the busy event loop.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import event, text

from bot.storage.engine import SQLITE_POOL_SIZE, make_engine


def _busy_threads(engine, n: int) -> None:
    """`n` threads each hold a connection at the same time, then give it back."""
    barrier = threading.Barrier(n)

    def work() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            barrier.wait(timeout=10)

    threads = [threading.Thread(target=work) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)


def test_a_dozen_threads_reuse_their_connections(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    opened: list[int] = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    threads = 12
    assert threads <= SQLITE_POOL_SIZE
    for _ in range(3):
        _busy_threads(engine, threads)
    assert len(opened) == threads  # the first round opened them; the next two reused them
    engine.dispose()


def test_memory_database_still_works() -> None:
    engine = make_engine("sqlite:///:memory:")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
