"""One scheduler pass removes the one-shot jobs it ran in one statement, on the real SQLite job store,
and that statement is written behind, off the event loop.

At an opening of a hundred campaigns APScheduler removed each finished job in a write transaction
of its own, on the event loop, each first waiting for SQLite's write lock (issue 14, the timeline
burst's stall at T). Batched into one transaction, it still waited for the lock on the loop: in a
flood, one monitor check's pass held the loop 175 ms behind the writers' transactions."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
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


@dataclass
class HeldStore:
    """A scheduler on a SQLite job store with an opening and a monitor due in 0.3 s, and a second
    connection to hold the write lock with (the order writer's long transaction, say)."""

    engine: sa.Engine
    scheduler: AsyncIOScheduler
    holder: sqlite3.Connection
    due: datetime

    def rows(self) -> dict[str, float]:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT id, next_run_time FROM scheduled_jobs")).all())

    def monitor_moved_on(self) -> bool:
        rows = self.rows()
        return (
            set(rows) == {"monitor"}
            and abs(rows["monitor"] - (self.due + timedelta(minutes=1)).timestamp()) < 0.01
        )


@contextlib.contextmanager
def held_store(tmp_path: Path, busy_timeout: float) -> Iterator[HeldStore]:
    RAN.clear()
    path = tmp_path / "jobs.db"
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": busy_timeout})
    scheduler = build_scheduler(engine, SchedulerSettings(), timezone="Asia/Shanghai")
    scheduler.start(paused=True)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        due = datetime.now(UTC) + timedelta(seconds=0.3)
        scheduler.add_job(f"{__name__}:record", DateTrigger(run_date=due), args=["open"], id="open")
        scheduler.add_job(
            f"{__name__}:record", IntervalTrigger(minutes=1, start_date=due), args=["monitor"], id="monitor"
        )
        yield HeldStore(engine, scheduler, holder, due)
    finally:
        holder.close()
        scheduler.shutdown(wait=False)
        engine.dispose()


async def _until_both_ran(seconds: float) -> None:
    for _ in range(int(seconds / 0.02)):
        await asyncio.sleep(0.02)
        if len(RAN) == 2:
            return


async def test_a_pass_does_not_hold_the_loop_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    with held_store(tmp_path, busy_timeout=3) as store:
        store.holder.execute("BEGIN IMMEDIATE")
        store.scheduler.resume()
        longest, last = 0.0, time.perf_counter()
        until = last + 1.5
        while time.perf_counter() < until:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
        assert longest < 0.5, f"the loop was held {longest:.2f} s"  # on the loop: until the lock's timeout
        assert RAN == []  # a job runs after its new next run is committed: a crash cannot run it twice
        store.holder.execute("COMMIT")
        await _until_both_ran(2.0)
        assert sorted(RAN) == ["monitor", "open"]
        assert [job.id for job in store.scheduler.get_jobs()] == ["monitor"]  # written once the lock was free
        assert store.monitor_moved_on()


async def test_a_pass_whose_write_failed_is_written_at_the_stores_next_use(tmp_path: Path) -> None:
    with held_store(tmp_path, busy_timeout=0.2) as store:  # the lock is held longer: the write fails
        store.holder.execute("BEGIN IMMEDIATE")
        store.scheduler.resume()
        await _until_both_ran(3.0)
        assert sorted(RAN) == ["monitor", "open"]
        assert set(store.rows()) == {"monitor", "open"}  # not written: the old rows are still there
        store.holder.execute("COMMIT")
        assert [job.id for job in store.scheduler.get_jobs()] == ["monitor"]  # the failed write, made now
        assert store.monitor_moved_on()
