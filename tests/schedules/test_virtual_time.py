"""Real APScheduler jobs (SQLite job store) released on a virtual clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import VirtualClock
from bot.config import SchedulerSettings
from schedules.jobs import build_scheduler
from schedules.virtual_time import JobRelease

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
RAN: list[tuple[str, datetime]] = []
CLOCK: list[VirtualClock] = []


async def record(name: str) -> None:
    """A job body: notes the bot time it ran at, after yielding to a thread like real jobs do."""
    await asyncio.to_thread(lambda: None)
    RAN.append((name, CLOCK[0].now()))


async def settle(jobs: JobRelease) -> None:
    for _ in range(500):
        await asyncio.sleep(0.002)
        if jobs.idle:
            return
    raise AssertionError("jobs still running")


async def test_jobs_run_at_their_bot_time_and_interval_jobs_stay_on_bot_time(tmp_path: Path) -> None:
    RAN.clear()
    clock = VirtualClock(T0)
    CLOCK[:] = [clock]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    scheduler = build_scheduler(engine, SchedulerSettings(), timezone="Asia/Shanghai")
    jobs = JobRelease(scheduler, clock)
    func = f"{__name__}:record"
    scheduler.start()
    try:
        scheduler.add_job(
            func, DateTrigger(run_date=clock.to_real(T0 + timedelta(minutes=10))), args=["once"]
        )
        scheduler.add_job(
            func,
            IntervalTrigger(
                seconds=60,
                start_date=clock.to_real(T0 + timedelta(minutes=9)),
                end_date=clock.to_real(T0 + timedelta(minutes=11, seconds=30)),
            ),
            args=["tick"],
            id="ticks",
        )
        await asyncio.sleep(0.1)
        assert RAN == []  # nothing fires on the wall clock
        assert jobs.next_due() == (T0 + timedelta(minutes=9), T0 + timedelta(minutes=10))

        seen = []
        while (due := jobs.next_due()[0]) is not None:
            clock.advance_to(due)
            assert jobs.release_due() >= 1
            assert not jobs.idle
            await settle(jobs)
            seen.append(due)
        minute = [T0 + timedelta(minutes=m) for m in (9, 10, 11)]
        assert seen == minute
        assert sorted(RAN) == sorted(
            [("tick", minute[0]), ("once", minute[1]), ("tick", minute[1]), ("tick", minute[2])]
        )
        assert scheduler.get_job("ticks") is None  # past its end date: removed, not left on the wall clock
    finally:
        scheduler.shutdown(wait=False)
