"""The weekly 活跃之星 job: a persisted daily job that decides the last finished week.

The jobs facade (`schedules.jobs.Jobs`) has daily jobs, not weekly ones, so the job runs every
day at `stars.at` and decides the last week that has ended (`handlers.stars.weeks`): on the
announcement day that is the week just ended; on the other days it is a week already decided,
and the claim (`handlers.stars.award`) makes the run a no-op. That also catches up: a bot that was
down at the announcement (or missed the job past its grace) names the week on its next run, as
long as that is within `CATCH_UP` of the week's end. The job lives in the scheduler's persistent
store (APScheduler imports the body by reference), added at start-up with `replace_existing`,
so a restart keeps one job and a changed `stars.at` moves it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from loguru import logger

from bot.context import Services
from handlers.stars.award import Named, award_week
from handlers.stars.weeks import finished_week
from schedules import runtime
from schedules.jobs import Grace

WEEKLY_JOB = "handlers.stars.jobs:job_stars_weekly"
STARS_JOB_ID = "stars-weekly"
CATCH_UP = timedelta(days=3)
"""A week not decided by then is left: "last week's star" announced days late reads stale."""


def schedule_weekly(services: Services) -> None:
    """Add (or replace) the daily job while the loop is on.

    Start-up steps run before the scheduler starts, when only jobs added in this run are known:
    a job stored by an earlier run with the loop on removes itself on its next run instead.
    """
    jobs = services.campaigns.scheduler
    if jobs is None or not services.config.stars.enabled:
        return
    settings = services.config.stars
    jobs.daily(
        WEEKLY_JOB,
        settings.at,
        id=STARS_JOB_ID,
        grace=Grace.UNBOUNDED,  # a run missed while the bot was down runs at start; the claim dedups
        timezone=services.config.bot.timezone,
    )


async def job_stars_weekly() -> None:
    """Every day at `stars.at`: decide the last finished week in every group, once."""
    services = runtime.current(Services)
    jobs = services.campaigns.scheduler
    if not services.config.stars.enabled and jobs is not None:
        jobs.remove(STARS_JOB_ID)  # the loop was turned off since this job was stored
        return
    await run_weekly(services)


async def run_weekly(services: Services) -> list[Named]:
    """Decide, pay and announce the last finished week (groups already done are skipped)."""
    settings = services.config.stars
    if not settings.enabled:
        return []
    now = services.clock.now()
    week = finished_week(settings, now, services.config.bot.timezone)
    if now - week.end > CATCH_UP:
        logger.bind(week=week.key).debug("stars: the last week ended too long ago to announce now")
        return []
    await asyncio.to_thread(services.flush_inbound)  # names and memberships are written behind
    named = await asyncio.to_thread(award_week, services, week, now)
    for decided in named:
        decided.admit()
    return named


__all__ = ["CATCH_UP", "STARS_JOB_ID", "WEEKLY_JOB", "job_stars_weekly", "run_weekly", "schedule_weekly"]
