"""The in-process write gate: writer threads queue on a lock, not on SQLite's busy handler."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from bot.storage.engine import make_engine
from bot.storage.write_lock import engine_gate, gate_for


def _engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}", busy_timeout_ms=5000)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return engine


def test_a_second_writer_waits_on_the_gate_and_goes_when_the_first_commits(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    gate = engine_gate(engine)
    assert gate is not None and gate is gate_for(str(tmp_path / "gate.db"))
    holding, done = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            time.sleep(0.2)
            order.append("first commits")

    def second() -> None:
        holding.wait()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second writes")
        done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert done.is_set() and order == ["first commits", "second writes"]
    assert gate.waits == 1  # it queued on the gate (no polling of SQLite while a thread of ours wrote)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 2


def test_the_gate_is_given_back_on_rollback_and_on_failure(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    gate = engine_gate(engine)
    assert gate is not None
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with engine.connect() as conn:  # a write left uncommitted, then the connection returned to the pool
        conn.execute(text("INSERT INTO t VALUES (2)"))
    with engine.begin() as conn:  # would wait 5 s for a gate never given back
        started = time.monotonic()
        conn.execute(text("INSERT INTO t VALUES (3)"))
        assert time.monotonic() - started < 1.0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalars().all() == [3]


def test_a_holder_whose_transaction_ended_unseen_is_taken_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    gate = engine_gate(engine)
    assert gate is not None
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        conn.begin()
        conn.execute(text("INSERT INTO t VALUES (1)"))
        raw.execute("COMMIT")  # behind SQLAlchemy's back: no commit event
        with engine.begin() as other:
            started = time.monotonic()
            other.execute(text("INSERT INTO t VALUES (2)"))
            assert time.monotonic() - started < 1.0


def _urgent_round(engine) -> list[str]:  # type: ignore[no-untyped-def]
    """Three routine writers wait on a held gate, then an urgent one; the order they wrote in."""
    from bot.storage.write_lock import mark_urgent_thread

    holding, release = threading.Event(), threading.Event()
    order: list[str] = []
    waiting = threading.Semaphore(0)

    def holder() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (0)"))
            holding.set()
            release.wait(10)

    def writer(name: str, urgent: bool) -> None:
        if urgent:
            mark_urgent_thread()
        holding.wait()
        waiting.release()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads += [threading.Thread(target=writer, args=(f"routine{n}", False)) for n in range(3)]
    threads.append(threading.Thread(target=writer, args=("urgent", True)))
    threads[0].start()
    for thread in threads[1:-1]:  # the routine writers start waiting first
        thread.start()
    for _ in range(3):
        waiting.acquire(timeout=10)
    time.sleep(0.1)
    threads[-1].start()
    waiting.acquire(timeout=10)
    time.sleep(0.1)  # the urgent writer is waiting on the gate too
    release.set()
    for thread in threads:
        thread.join(10)
    return order


def test_an_urgent_writer_goes_before_routine_writers_that_waited_longer(tmp_path: Path) -> None:
    """The order writer marks its thread urgent: a batch of orders (acknowledged only after its
    commit) must not queue behind the inbound log's and the outbox's routine batches."""
    engine = _engine(tmp_path)
    for round_ in range(3):
        order = _urgent_round(engine)
        assert len(order) == 4, f"round {round_}: {order}"
        assert order[0] == "urgent", f"round {round_}: {order}"
