"""The weekly job lives in the scheduler's persistent store: one job, kept across a restart, moved
when `stars.at` changes, removed when the loop is off; its week boundaries follow the settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger

from bot.app import App
from bot.config_stars import StarSettings
from bot.startup import install_features
from handlers.stars.jobs import STARS_JOB_ID, WEEKLY_JOB, job_stars_weekly
from handlers.stars.weeks import current_week, finished_week
from schedules.jobs import JOBS_TABLE
from tests.conftest import make_config
from tests.fakes import FakeClock, FakeTransport


async def _run_hooks(hooks: list[Any], app: App) -> None:
    for hook in hooks:
        result = hook(app)
        if asyncio.iscoroutine(result):
            await result


async def started(tmp_path: Path, clock: FakeClock, **stars: Any) -> App:
    """An app as `tuanbot run` starts it: persistent jobs, the features' start steps, the scheduler."""
    app = App.build(make_config(tmp_path, stars=stars), clock=clock)
    FakeTransport(app, clock)
    install_features(app, persistent_jobs=True, watch=False)
    await _run_hooks(app.startup_hooks, app)
    return app


async def stopped(app: App) -> None:
    await _run_hooks(app.shutdown_hooks, app)


def stored_jobs(tmp_path: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tuanbot.db'}")
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text(f"SELECT id FROM {JOBS_TABLE}")).all()]
    engine.dispose()
    return ids


async def test_the_weekly_job_is_persisted_once_and_follows_the_settings(
    tmp_path: Path, clock: FakeClock
) -> None:
    app = await started(tmp_path, clock, at="21:15")
    jobs = app.services.campaigns.scheduler
    assert jobs is not None
    job = jobs.get_job(STARS_JOB_ID)
    assert job is not None and job.func_ref == WEEKLY_JOB
    assert isinstance(job.trigger, CronTrigger)
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("21", "15")
    assert str(job.trigger.timezone) == "Asia/Shanghai"
    await stopped(app)
    assert stored_jobs(tmp_path).count(STARS_JOB_ID) == 1  # in the database, not only in memory

    again = await started(tmp_path, clock, at="08:30")  # a restart with a new time: one job, moved
    job = again.services.campaigns.scheduler.get_job(STARS_JOB_ID)  # type: ignore[union-attr]
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("8", "30")
    await stopped(again)
    assert stored_jobs(tmp_path).count(STARS_JOB_ID) == 1

    off = await started(tmp_path, clock, enabled=False)  # turned off: the stored job removes itself
    await job_stars_weekly()
    assert off.services.campaigns.scheduler.get_job(STARS_JOB_ID) is None  # type: ignore[union-attr]
    await stopped(off)
    assert STARS_JOB_ID not in stored_jobs(tmp_path)


def test_weeks_end_on_the_configured_day_and_time() -> None:
    settings = StarSettings(weekday=3, at="09:00")  # Wednesday 09:00, Shanghai
    # Wednesday 2026-12-09 09:00 Shanghai is 01:00 UTC.
    just_before = datetime(2026, 12, 9, 0, 59, tzinfo=UTC)
    at_end = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)
    week = finished_week(settings, just_before, "Asia/Shanghai")
    assert week.key == "2026-12-02" and week.end == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert week.end - week.start == datetime(2026, 12, 9) - datetime(2026, 12, 2)
    week = finished_week(settings, at_end, "Asia/Shanghai")
    assert week.key == "2026-12-09"
    running = current_week(settings, at_end, "Asia/Shanghai")
    assert running.start == at_end and running.key == "2026-12-16"
