"""Building the scheduler: once, at start-up, never at import time.

Only one scheduler may use a job store: APScheduler 3 cannot share one between
processes, so run one bot process per database.
"""

from __future__ import annotations

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from bot.config import SchedulerSettings

JOBS_TABLE = "scheduled_jobs"


def build_scheduler(engine: Engine | None, settings: SchedulerSettings, *, timezone: str) -> AsyncIOScheduler:
    """An AsyncIOScheduler whose jobs persist in the bot's own database (`engine`).

    Grace times are set per job by whoever adds it; the default below is only a
    fallback, deliberately far above APScheduler's 1 s (which silently drops
    jobs that start a few seconds late under load).
    """
    jobstore = (
        SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE) if engine is not None else MemoryJobStore()
    )
    return AsyncIOScheduler(
        jobstores={"default": jobstore},
        executors={"default": AsyncIOExecutor()},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.info_grace_seconds,
        },
        timezone=timezone,
    )
