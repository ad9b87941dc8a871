"""The outbox log's owed writes committed by a SQL process of their own (bot/storage/outbox_child.py).

Why: each pass's statements, run by the send loop's thread in the bot's process, held SQLite's
write lock through every wait for the busy event loop's interpreter lock, and the order writer
queued behind them in a flash sale (docs/performance.md). The promises tested here: the table ends
as the thread would leave it, no statement of an owed pass runs in the bot's process, a pass
whose answer is lost after its commit is neither doubled nor stuck, a killed SQL process loses
nothing, the `sending` mark still answers, and closing the store ends the process.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.schema import create_schema
from bot.storage import outbox_child
from bot.storage.engine import make_engine
from bot.storage.outbox_log import Op, WriteLog
from bot.storage.outbox_store import OutboxStore, status_values
from bot.storage.sql_process import SqlProcess, SqlProcessGone
from bot.storage.write_lock import engine_gate
from tests.conftest import make_config
from tests.fakes import FakeClock
from tests.storage.test_multirow import T0, _engine, _outbox_ops
from tests.storage.test_sql_process import _alive, _nice, _sql_children, _wait_until


def _owe(log: WriteLog, ops: list[Op]) -> None:
    for kind, row_id, values in ops:
        if kind == "insert":
            log.owe_insert(dict(values))
        elif kind == "text":
            log.owe_text(row_id, str(values["text"]), str(values["mentions"]))
        else:
            log.owe((kind, row_id, dict(values)))


def _dump(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM outbox ORDER BY id"))]


def _store(path: Path, *, in_process: bool) -> OutboxStore:
    store = OutboxStore(_engine(path), in_process=in_process)
    assert (store.log.process is not None) == in_process
    return store


def _here(engine: Engine) -> list[str]:
    """The writing statements run through `engine`, in this process."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.split()[0].upper()
        if verb in {"INSERT", "UPDATE", "BEGIN", "DELETE"}:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def _row(n: int) -> dict[str, Any]:
    return {"group_id": "g1", "text": f"第{n}条", "kind": "notice"}


def test_the_rows_committed_there_are_those_the_thread_writes(tmp_path: Path) -> None:
    for seed in (1, 2):
        ops = _outbox_ops(seed, 2_000)
        there, here = (
            _store(tmp_path / f"p{seed}.db", in_process=True),
            _store(tmp_path / f"t{seed}.db", in_process=False),
        )
        for start in range(0, len(ops), 250):  # passes of a few hundred writes, cancels among them
            for store in (there, here):
                _owe(store.log, ops[start : start + 250])
                store.write()
        assert _dump(there.engine) == _dump(here.engine), f"seed {seed}"
        assert any(row[8] == "sent" for row in _dump(there.engine))
        there.close()


def test_an_owed_pass_runs_no_statement_in_the_bots_process(tmp_path: Path) -> None:
    store = _store(tmp_path / "o.db", in_process=True)
    here = _here(store.engine)
    first = store.allocate(300)
    for row_id in range(first, first + 300):
        store.insert_behind(row_id, _row(row_id), T0)
    store.write()
    for row_id in range(first, first + 100):
        store.replace_behind(row_id, f"新{row_id}", "")
        store.status_behind(row_id + 100, status_values("sent", sent_at=T0, attempts=1))
    store.write()
    assert here == []
    rows = _dump(store.engine)
    assert len(rows) == 300 and sum(row[8] == "sent" for row in rows) == 100
    (child,) = _sql_children(os.getpid(), tmp_path / "o.db")
    # Not behind the bot for the processor, as the inbound log's is: it holds the write lock.
    assert _nice(child) == _nice(os.getpid())
    store.close()
    assert _wait_until(lambda: not _sql_children(os.getpid(), tmp_path / "o.db"))


def test_a_pass_whose_answer_is_lost_after_its_commit_is_neither_doubled_nor_stuck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path / "o.db", in_process=True)
    first = store.allocate(50)
    for row_id in range(first, first + 50):
        store.insert_behind(row_id, _row(row_id), T0)
    real = SqlProcess._ask
    lost: list[int] = []

    def committed_then_gone(self: SqlProcess, request: Any) -> Any:
        answer = real(self, request)
        if not lost:  # the commit happened; the answer never arrives
            lost.append(1)
            raise SqlProcessGone("outbox-writer: the SQL process stopped (exit code -9)")
        return answer

    monkeypatch.setattr(SqlProcess, "_ask", committed_then_gone)
    with pytest.raises(SqlProcessGone):
        store.write()
    assert store.failing and store.owed() == 50  # owed again, in order
    assert len(_dump(store.engine)) == 50  # though they are in the table
    store.status_behind(first, status_values("sent", sent_at=T0, attempts=1))
    store.write()  # the retry: the rows once each, the pass not refused for them
    rows = _dump(store.engine)
    assert [row[0] for row in rows] == list(range(first, first + 50))
    assert rows[0][8] == "sent" and not store.failing and store.owed() == 0
    store.close()


def test_a_sql_process_killed_while_its_pass_waits_for_the_lock_loses_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path / "o.db", in_process=True)
    first = store.allocate(20)
    store.insert_behind(first, _row(first), T0)
    store.write()
    (child,) = _sql_children(os.getpid(), tmp_path / "o.db")
    blocker = sqlite3.connect(tmp_path / "o.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the child's next pass waits for the lock: in flight
    for row_id in range(first + 1, first + 20):
        store.insert_behind(row_id, _row(row_id), T0)
    killer = _kill_later(child, 0.3)
    with pytest.raises(SqlProcessGone):
        store.write()
    killer.join()
    blocker.rollback()
    blocker.close()
    assert store.owed() == 19
    store.write()
    assert [row[0] for row in _dump(store.engine)] == list(range(first, first + 20))
    (again,) = _sql_children(os.getpid(), tmp_path / "o.db")
    assert again != child and not _alive(child)
    store.close()


def _kill_later(pid: int, seconds: float) -> Any:
    def kill() -> None:
        time.sleep(seconds)
        os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


def test_the_sending_mark_still_answers_whether_it_landed(tmp_path: Path) -> None:
    store = _store(tmp_path / "o.db", in_process=True)
    first = store.allocate(2)
    store.insert_behind(first, _row(first), T0)
    store.insert_behind(first + 1, _row(first + 1), T0)
    assert store.write([("status", first, status_values("sending"))]) is True  # owed there, mark here
    assert store.write([("status", first, status_values("sending"))]) is False  # not queued any more
    statuses = [row[8] for row in _dump(store.engine)]
    assert statuses == ["sending", "queued"]
    store.close()


def test_a_pass_with_a_cancellation_runs_here_as_before(tmp_path: Path) -> None:
    store = _store(tmp_path / "o.db", in_process=True)
    first = store.allocate(3)
    for row_id in range(first, first + 3):
        store.insert_behind(row_id, _row(row_id), T0)
    store.cancel_behind([first, first + 2])
    assert outbox_child.driver_items(store.engine.dialect, []) == []
    here = _here(store.engine)
    store.write()
    assert [row[8] for row in _dump(store.engine)] == ["cancelled", "queued", "cancelled"]
    assert any(statement.startswith("UPDATE") for statement in here)
    store.close()


async def test_the_app_ends_its_outbox_process_when_it_stops(tmp_path: Path, clock: FakeClock) -> None:
    app = App.build(make_config(tmp_path), clock=clock, rng=random.Random(1))
    database = Path(str(app.services.repo.engine.url.database)).resolve()

    class OneReply:
        name = "one-reply"

        async def start(self, sink: Any) -> None:
            app.services.outbox.enqueue("在的", group_id="g1")  # a reply: an owed insert
            await app.services.outbox.flush()  # written by the SQL process
            assert len(_sql_children(os.getpid(), database)) >= 1

        async def send(self, message: object) -> None:
            return None

        async def stop(self) -> None:
            return None

    await asyncio.wait_for(app.run(OneReply(), drain_seconds=0), timeout=30)  # type: ignore[arg-type]
    assert _wait_until(lambda: not _sql_children(os.getpid(), database))


def test_a_locked_database_refuses_a_pass_after_the_busy_timeout_not_twice_it(tmp_path: Path) -> None:
    """The wait for the write gate counts against the busy timeout, as for a writer in the thread:
    the send loop learns of a locked database as soon as before (the app's episode and back-off)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}", busy_timeout_ms=600)
    create_schema(engine)
    store = OutboxStore(engine, in_process=True)
    store.seed_ids()
    first = store.allocate(2)
    store.insert_behind(first, _row(first), T0)
    store.write()  # the SQL process is up: its start is not part of the wait timed below
    gate = engine_gate(engine)
    assert gate is not None
    holder = sqlite3.connect(tmp_path / "o.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer holds SQLite's lock ...
    token = object()
    assert gate.acquire(token, 1.0)  # type: ignore[arg-type]  # ... and a thread of ours the gate

    def release_the_gate_later() -> None:
        time.sleep(0.4)
        gate.release(token)

    releaser = threading.Thread(target=release_the_gate_later)
    releaser.start()
    store.insert_behind(first + 1, _row(first + 1), T0)
    started = time.monotonic()
    with pytest.raises(OperationalError):
        store.write()
    waited = time.monotonic() - started
    releaser.join()
    holder.rollback()
    holder.close()
    assert 0.5 <= waited < 0.95, waited  # 0.6 s in all, the 0.4 s at the gate counted (1.0 s before)
    store.write()  # owed again and written once the lock is free
    assert [row[0] for row in _dump(engine)] == [first, first + 1]
    store.close()
