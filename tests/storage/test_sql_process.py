"""The write-behind writer's SQL run in a process of its own (bot/storage/sql_child.py).

Why: in the bot's process each SQLite statement gave up the interpreter lock and waited for the
busy event loop to hand it back, holding SQLite's write lock meanwhile; the inbound log fell
seconds behind a flood (docs/performance.md). The promises tested here: the rows are those the
thread writes (tests/storage/test_writebehind.py runs its tests both ways), no statement of a batch
runs in the bot's process, a killed SQL process loses nothing, and a killed bot leaves none behind.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bot.storage.bookkeeping import Bookkeeping
from bot.storage.engine import init_db, make_engine
from bot.storage.sql_child import NICENESS
from bot.storage.writebehind import WriteBehind

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    return engine


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _sql_children(parent: int, database: Path) -> list[int]:
    """Live `sql_child` processes of `parent` writing to `database` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        argv = cmdline.rstrip(b"\0").split(b"\0")
        if (
            int(stat[1]) == parent
            and stat[0] != "Z"
            and argv[-2:] == [b"bot.storage.sql_child", bytes(database)]
        ):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _wait_until(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_batch_runs_no_statement_in_the_bots_process(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "t.db")
    here: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: here.append(args[2].split()[0].upper()))
    rows, writer = Bookkeeping(engine), WriteBehind(engine, in_process=True, max_batch=5_000, linger=0.2)
    for i in range(2_000):
        writer.put(rows.inbound(f"m{i}", "group", f"g{i % 7}", f"u{i}", "收到", T0))
        writer.put(*rows.touch_member(f"g{i % 7}", f"u{i}", f"成员{i}", T0))
    writer.put(rows.touch_group("g1", "团购一群", T0), rows.leave("g1", "u3", T0))  # defaults, an UPDATE
    assert writer.flush()
    assert [verb for verb in here if verb in {"INSERT", "UPDATE", "BEGIN"}] == []
    assert _count(engine, "inbound_messages") == 2_000 and _count(engine, "memberships") == 2_000
    with engine.connect() as conn:
        assert conn.execute(text("SELECT member_count, bot_present FROM groups")).one() == (0, True)
    children = _sql_children(os.getpid(), tmp_path / "t.db")
    assert len(children) == 1 and children[0] != os.getpid()
    # Behind the event loop for the processor: its niceness is the bot's plus NICENESS.
    assert _nice(children[0]) == min(19, _nice(os.getpid()) + NICENESS)
    writer.close()


def test_a_sql_process_killed_in_the_middle_of_a_batch_loses_nothing(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "t.db")
    rows = Bookkeeping(engine)
    writer = WriteBehind(engine, in_process=True, backoff_start=0.01)
    writer.put(*(rows.inbound(f"a{i}", "group", "g1", "u1", "hi", T0) for i in range(100)))
    assert writer.flush()
    (child,) = _sql_children(os.getpid(), tmp_path / "t.db")
    blocker = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the child's next batch waits for the lock: in flight
    writer.put(*(rows.inbound(f"b{i}", "group", "g1", "u1", "hi", T0) for i in range(100)))
    time.sleep(0.3)
    os.kill(child, signal.SIGKILL)
    assert _wait_until(lambda: not _alive(child))
    blocker.rollback()
    blocker.close()
    assert _wait_until(lambda: writer.flush(timeout=1.0))
    assert writer.stats.failures >= 1 and writer.stats.dropped == 0  # told as a failed attempt, retried
    assert _count(engine, "inbound_messages") == 200
    (again,) = _sql_children(os.getpid(), tmp_path / "t.db")
    assert again != child
    writer.close()


def test_a_killed_bot_leaves_no_sql_process_behind(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from datetime import UTC, datetime
        from bot.storage.bookkeeping import Bookkeeping
        from bot.storage.engine import init_db, make_engine
        from bot.storage.writebehind import WriteBehind
        engine = make_engine("sqlite:///{tmp_path / "t.db"}")
        init_db(engine)
        writer = WriteBehind(engine, in_process=True)
        writer.put(Bookkeeping(engine).inbound("m1", "group", "g1", "u1", "hi", datetime.now(UTC)))
        assert writer.flush()
        print("written", flush=True)
        time.sleep(60)
        """
    )
    bot = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert bot.stdout is not None and bot.stdout.readline().strip() == "written"
        (child,) = _sql_children(bot.pid, tmp_path / "t.db")
        bot.send_signal(signal.SIGKILL)
        bot.wait()
        assert _wait_until(lambda: not _alive(child)), "the SQL process outlived the bot"
    finally:
        bot.kill()
        bot.wait()
    assert _count(_engine(tmp_path / "t.db"), "inbound_messages") == 1
