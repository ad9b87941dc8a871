"""One scheduler pass removes the one-shot jobs it ran in one statement, on the real SQLite job store,
and that statement is written behind, off the event loop.

At an opening of a hundred campaigns APScheduler removed each finished job in a write transaction
of its own, on the event loop, each first waiting for SQLite's write lock (issue 14, the timeline
burst's stall at T). Batched into one transaction, it still waited for the lock on the loop: in a
flood, one monitor check's pass held the loop 175 ms behind the writers' transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import SchedulerSettings
from schedules.jobs import build_scheduler

RAN: list[str] = []


async def record(name: str) -> None:
    RAN.append(name)


def _writes(engine: sa.Engine) -> list[str]:
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("DELETE", "UPDATE")):
            seen.append(statement.split()[0])

    sa.event.listen(engine, "before_cursor_execute", listen)
    return seen


async def test_the_jobs_a_pass_ran_are_removed_in_one_statement_and_the_rest_stay(tmp_path: Path) -> None:
    RAN.clear()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    scheduler = build_scheduler(engine, SchedulerSettings(), timezone="Asia/Shanghai")
    scheduler.start(paused=True)
    try:
        due = datetime.now(UTC) + timedelta(seconds=0.3)
        for n in range(20):  # twenty campaigns open at the same instant
            scheduler.add_job(f"{__name__}:record", DateTrigger(run_date=due), args=[f"c{n}"], id=f"open-{n}")
        scheduler.add_job(
            f"{__name__}:record", DateTrigger(run_date=due + timedelta(hours=1)), args=["later"], id="later"
        )
        for n in range(5):  # and five campaigns' monitors start, every minute from then on
            scheduler.add_job(
                f"{__name__}:record",
                IntervalTrigger(minutes=1, start_date=due),
                args=[f"m{n}"],
                id=f"monitor-{n}",
            )
        writes = _writes(engine)
        scheduler.resume()
        for _ in range(200):
            await asyncio.sleep(0.02)
            if len(RAN) == 25:
                break
        assert sorted(RAN) == sorted([f"c{n}" for n in range(20)] + [f"m{n}" for n in range(5)])
        monitors = {f"monitor-{n}" for n in range(5)}
        assert {job.id for job in scheduler.get_jobs()} == {"later"} | monitors  # waits for the writes
        assert writes == ["UPDATE", "DELETE"]  # one executemany of the five next runs, one DELETE
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text("SELECT id, next_run_time FROM scheduled_jobs")).all())
        assert set(rows) == {"later"} | monitors
        assert all(abs(rows[m] - (due + timedelta(minutes=1)).timestamp()) < 0.01 for m in monitors)
        for monitor in monitors:
            scheduler.remove_job(monitor)
        scheduler.add_job(
            f"{__name__}:record", DateTrigger(run_date=due + timedelta(hours=2)), args=["x"], id="open-3"
        )
        assert {job.id for job in scheduler.get_jobs()} == {"later", "open-3"}  # an id used again is kept
        scheduler.remove_job("later")  # a removal outside a pass goes at once, and says if it was there
        assert [job.id for job in scheduler.get_jobs()] == ["open-3"]
    finally:
        scheduler.shutdown(wait=False)
        engine.dispose()


async def test_a_pass_does_not_hold_the_loop_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    RAN.clear()
    path = tmp_path / "jobs.db"
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 3})
    scheduler = build_scheduler(engine, SchedulerSettings(), timezone="Asia/Shanghai")
    scheduler.start(paused=True)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        due = datetime.now(UTC) + timedelta(seconds=0.3)
        scheduler.add_job(f"{__name__}:record", DateTrigger(run_date=due), args=["open"], id="open")
        scheduler.add_job(
            f"{__name__}:record", IntervalTrigger(minutes=1, start_date=due), args=["monitor"], id="monitor"
        )
        holder.execute("BEGIN IMMEDIATE")  # the order writer's long transaction, say
        scheduler.resume()
        longest, last = 0.0, time.perf_counter()
        until = last + 1.5
        while time.perf_counter() < until:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
        assert longest < 0.5, f"the loop was held {longest:.2f} s"  # on the loop: until the lock's timeout
        assert RAN == []  # a job runs after its new next run is committed: a crash cannot run it twice
        holder.execute("COMMIT")
        for _ in range(100):
            await asyncio.sleep(0.02)
            if len(RAN) == 2:
                break
        assert sorted(RAN) == ["monitor", "open"]
        assert [job.id for job in scheduler.get_jobs()] == ["monitor"]  # written once the lock was free
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text("SELECT id, next_run_time FROM scheduled_jobs")).all())
        assert set(rows) == {"monitor"}
        assert abs(rows["monitor"] - (due + timedelta(minutes=1)).timestamp()) < 0.01
    finally:
        holder.close()
        scheduler.shutdown(wait=False)
        engine.dispose()


async def test_a_pass_whose_write_failed_is_written_at_the_stores_next_use(tmp_path: Path) -> None:
    RAN.clear()
    path = tmp_path / "jobs.db"
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
    scheduler = build_scheduler(engine, SchedulerSettings(), timezone="Asia/Shanghai")
    scheduler.start(paused=True)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        due = datetime.now(UTC) + timedelta(seconds=0.3)
        scheduler.add_job(f"{__name__}:record", DateTrigger(run_date=due), args=["open"], id="open")
        scheduler.add_job(
            f"{__name__}:record", IntervalTrigger(minutes=1, start_date=due), args=["monitor"], id="monitor"
        )
        holder.execute("BEGIN IMMEDIATE")  # longer than the store's 0.2 s busy timeout: its write fails
        scheduler.resume()
        for _ in range(150):
            await asyncio.sleep(0.02)
            if len(RAN) == 2:
                break
        assert sorted(RAN) == ["monitor", "open"]
        with engine.connect() as conn:  # not written: the old rows are still there
            assert set(dict(conn.execute(sa.text("SELECT id, next_run_time FROM scheduled_jobs")).all())) == {
                "monitor",
                "open",
            }
        holder.execute("COMMIT")
        assert [job.id for job in scheduler.get_jobs()] == ["monitor"]  # the failed write, made now
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text("SELECT id, next_run_time FROM scheduled_jobs")).all())
        assert set(rows) == {"monitor"}
        assert abs(rows["monitor"] - (due + timedelta(minutes=1)).timestamp()) < 0.01
    finally:
        holder.close()
        scheduler.shutdown(wait=False)
        engine.dispose()
