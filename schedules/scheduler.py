"""Building the scheduler: once, at start-up, never at import time.

Only one scheduler may use a job store: APScheduler 3 cannot share one between
processes, so run one bot process per database.
"""

from __future__ import annotations

import logging

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from bot.config import SchedulerSettings

JOBS_TABLE = "scheduled_jobs"
CAMPAIGN_JOB_PREFIX = "campaign:"


class _CampaignMissesLoggedByRegistry(logging.Filter):
    """Drop APScheduler's "Run time of job … was missed by 6:19:30.932790" for campaign nodes.

    The campaign registry logs each miss itself, with the node's due time in the bot's timezone
    and a duration a person can read, and records it as skipped; APScheduler's line said the
    same thing in UTC and raw `timedelta` form, first thing on a newcomer's screen.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if "was missed by" not in str(record.msg) or not isinstance(record.args, tuple) or not record.args:
            return True
        return not str(getattr(record.args[0], "id", "")).startswith(CAMPAIGN_JOB_PREFIX)


_MISS_FILTER = _CampaignMissesLoggedByRegistry()


def build_scheduler(engine: Engine | None, settings: SchedulerSettings, *, timezone: str) -> AsyncIOScheduler:
    """An AsyncIOScheduler whose jobs persist in the bot's own database (`engine`).

    Grace times are set per job by whoever adds it; the default below is only a
    fallback, deliberately far above APScheduler's 1 s (which silently drops
    jobs that start a few seconds late under load).
    """
    executor_log = logging.getLogger("apscheduler.executors.default")
    if _MISS_FILTER not in executor_log.filters:
        executor_log.addFilter(_MISS_FILTER)
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
