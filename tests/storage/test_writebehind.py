"""The write-behind writer and the inbound bookkeeping rows it commits (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from bot.storage.bookkeeping import Bookkeeping
from bot.storage.engine import init_db, make_engine
from bot.storage.rowops import RowOp
from bot.storage.tables import RoleGrant
from bot.storage.writebehind import WriteBehind

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Engine:
    engine = make_engine(db_url)
    init_db(engine)
    return engine


def _rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "sql-process"])
def test_ops_are_committed_in_order_and_a_redelivered_id_is_ignored(engine: Engine, in_process: bool) -> None:
    rows, writer = Bookkeeping(engine), WriteBehind(engine, in_process=in_process)
    writer.put(rows.inbound("m1", "group", "g1", "alice", "收到", T0))
    writer.put(rows.inbound("m2", "group", "g1", "bob", "好的", T0))
    writer.put(rows.inbound("m1", "group", "g1", "alice", "收到", T0))  # the unique key is the backstop
    assert writer.flush()
    assert _rows(engine, "SELECT message_id, sender_id FROM inbound_messages ORDER BY id") == [
        ("m1", "alice"),
        ("m2", "bob"),
    ]
    assert writer.stats.ops == 3 and writer.stats.batches >= 1


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "sql-process"])
def test_bookkeeping_keeps_the_semantics_of_the_repo_methods(engine: Engine, in_process: bool) -> None:
    rows, writer = Bookkeeping(engine), WriteBehind(engine, in_process=in_process)
    later = T0 + timedelta(minutes=5)
    writer.put(rows.touch_group("g1", "团购一群", T0), rows.touch_group("g1", "", later))  # "" keeps the name
    writer.put(*rows.touch_member("g1", "alice", "阿丽", T0), *rows.touch_member("g1", "alice", "", later))
    writer.put(*rows.join("g1", "bob", "小波", T0), rows.leave("g1", "bob", later))
    writer.put(*rows.join("g1", "bob", "别的名字", later))  # a rejoin clears left_at, keeps the name
    writer.put(rows.bot_present("g2", False, T0))
    assert writer.flush()
    assert _rows(engine, "SELECT id, name, bot_present FROM groups ORDER BY id") == [
        ("g1", "团购一群", True),
        ("g2", "", False),
    ]
    assert _rows(engine, "SELECT id, name FROM members ORDER BY id") == [("alice", "阿丽"), ("bob", "小波")]
    memberships = _rows(engine, "SELECT member_id, left_at IS NULL FROM memberships ORDER BY member_id")
    assert memberships == [("alice", True), ("bob", True)]


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "sql-process"])
def test_a_bad_row_is_dropped_alone(engine: Engine, in_process: bool) -> None:
    grant = insert(RoleGrant)  # no ON CONFLICT: the second insert violates the primary key
    values = {"group_id": "g1", "member_id": "m", "role": "leader", "granted_by": "a", "granted_at": T0}
    rows, writer = Bookkeeping(engine), WriteBehind(engine, in_process=in_process)
    writer.put(RowOp(grant, values), RowOp(grant, values), rows.inbound("m9", "group", "g1", "x", "hi", T0))
    assert writer.flush()
    assert writer.stats.dropped == 1
    assert _rows(engine, "SELECT message_id FROM inbound_messages") == [("m9",)]


def _locked(path: Path) -> sqlite3.Connection:
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "sql-process"])
def test_a_locked_database_is_one_episode_told_once_and_nothing_is_lost(
    tmp_path: Path, in_process: bool
) -> None:
    path = tmp_path / "tuanbot.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout_ms=1)
    init_db(engine)
    troubles: list[BaseException] = []
    recovered: list[bool] = []
    rows = Bookkeeping(engine)
    writer = WriteBehind(
        engine, in_process=in_process, on_trouble=troubles.append, on_recovered=lambda: recovered.append(True)
    )
    blocker = _locked(path)
    for n in range(3):
        writer.put(rows.inbound(f"m{n}", "group", "g1", "alice", "hi", T0))
        assert not writer.flush()
    assert writer.failing and len(troubles) == 1 and "locked" in str(troubles[0])
    blocker.rollback()
    blocker.close()
    assert writer.flush()
    assert not writer.failing and recovered == [True]
    assert len(_rows(engine, "SELECT id FROM inbound_messages")) == 3


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "sql-process"])
async def test_written_raises_while_failing_and_callbacks_run_on_the_loop(
    tmp_path: Path, in_process: bool
) -> None:
    path = tmp_path / "tuanbot.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout_ms=1)
    init_db(engine)
    calls: list[str] = []
    rows = Bookkeeping(engine)
    writer = WriteBehind(
        engine,
        in_process=in_process,
        on_trouble=lambda exc: calls.append("trouble"),
        on_recovered=lambda: calls.append("ok"),
    )
    blocker = _locked(path)
    writer.put(rows.inbound("m1", "group", "g1", "alice", "hi", T0))
    with pytest.raises(Exception, match="locked"):
        await writer.written()
    assert calls == ["trouble"]  # scheduled on the loop ahead of the waiter's wake-up
    blocker.rollback()
    blocker.close()
    writer.put(rows.inbound("m2", "group", "g1", "alice", "hi", T0))
    await writer.written()
    assert calls == ["trouble", "ok"]
    assert len(_rows(engine, "SELECT id FROM inbound_messages")) == 2


def test_alternating_rows_of_a_batch_go_one_statement_per_table(engine: Engine) -> None:
    """Inbound rows and member upserts alternate as messages arrive; the writer sends each table's
    rows in one executemany (between barriers), not one statement per alternation."""
    from sqlalchemy import event

    rows, writer = Bookkeeping(engine), WriteBehind(engine, linger=0.2)
    executes: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: executes.append(args[2].split()[0]))
    for n in range(40):
        writer.put(rows.inbound(f"m{n}", "group", "g1", f"u{n}", "收到", T0))
        writer.put(*rows.touch_member("g1", f"u{n}", f"成员{n}", T0))
    writer.put(*rows.join("g1", "u0", "成员0", T0))  # a barrier keeps its place
    writer.put(rows.leave("g1", "u0", T0 + timedelta(minutes=1)))
    assert writer.flush()
    inserts = [e for e in executes if e.upper() in {"INSERT", "UPDATE"}]
    assert len(inserts) <= 2 * 6, executes  # one batch (two at most): 3 tables + the join's 2 + the leave
    assert _rows(engine, "SELECT count(*) FROM inbound_messages") == [(40,)]
    assert _rows(engine, "SELECT left_at IS NOT NULL FROM memberships WHERE member_id = 'u0'") == [(1,)]


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "sql-process"])
def test_a_backlog_of_queued_rows_is_not_walked_by_the_garbage_collector(
    tmp_path: Path, in_process: bool
) -> None:
    """Under a flood the inbound log runs seconds behind, and each full GC pass walked its queue:
    half of the 55,000 objects a pass walked were queued rows, and a pass holds the interpreter
    lock (20-60 ms event-loop stalls, docs/performance.md). Queued, a row is plain values the
    collector stops tracking; the rows are still committed, in order, with their types."""
    import gc

    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    init_db(engine)
    rows = Bookkeeping(engine)
    writer = WriteBehind(
        engine, linger=60.0, max_batch=50_000, in_process=in_process
    )  # lingers: the rows stay queued
    writer.put(rows.inbound("m-first", "group", "g1", "u1", "先来", T0))  # the writer is lingering now
    gc.collect()
    before = len(gc.get_objects())
    for i in range(10_000):
        at = T0 + timedelta(seconds=i)
        writer.put(rows.inbound(f"m{i}", "group", f"g{i % 9}", f"u{i}", f"第{i}条", at))
        writer.put(*rows.touch_member(f"g{i % 9}", f"u{i}", f"成员{i}", at))
    gc.collect()
    tracked = len(gc.get_objects()) - before
    assert writer.pending >= 30_000
    assert tracked < 1_000, f"{tracked} objects tracked for 30,000 queued rows"
    assert writer.flush()
    assert _rows(engine, "SELECT count(*) FROM inbound_messages") == [(10_001,)]
    assert _rows(engine, "SELECT time FROM inbound_messages WHERE message_id = 'm9999'") == [
        ((T0 + timedelta(seconds=9_999)).replace(tzinfo=None).isoformat(" ", "microseconds"),)
    ]
    assert _rows(engine, "SELECT name FROM members WHERE id = 'u42'") == [("成员42",)]
