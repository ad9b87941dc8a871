"""A node missed while the bot was down is logged once, readably, in the bot's timezone (issue 13.18)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from loguru import logger

from bot.campaign.runtime import job_id
from schedules.jobs import _MISS_FILTER
from tests.commerce.selling_kit import OPENS, build_shop
from tests.fakes import FakeClock


async def test_a_missed_node_logs_a_readable_duration_in_local_time(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS + timedelta(hours=6, minutes=19, seconds=30, microseconds=932790))
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING", format="{message}")
    try:
        event = JobExecutionEvent(EVENT_JOB_MISSED, job_id("t1", "countdown-T-10m"), "default", OPENS)
        shop.registry._on_missed(event)
    finally:
        logger.remove(sink)
    [line] = lines
    assert "countdown-T-10m due 12-05 19:50 was missed by 6小时29分" in line, line
    # APScheduler's own "missed by 6:29:30.932790" (UTC, raw timedelta) is not logged beside it.
    job = type("Job", (), {"id": job_id("t1", "countdown-T-10m")})()
    record = logging.LogRecord(
        "apscheduler.executors.default",
        logging.WARNING,
        "",
        0,
        'Run time of job "%s" was missed by %s',
        (job, timedelta(hours=6)),
        None,
    )
    assert not _MISS_FILTER.filter(record)
    other = type("Job", (), {"id": "health"})()
    record.args = (other, timedelta(hours=6))
    assert _MISS_FILTER.filter(record)
