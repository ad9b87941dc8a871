"""The jobs facade (`schedules.jobs.Jobs`): the only code that imports APScheduler; it owns ids,
grace and coalescing, and takes bot times."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from bot.clock import VirtualClock
from bot.config import SchedulerSettings
from schedules.jobs import (
    Grace,
    Jobs,
    campaign_node_job_id,
    create_job_table,
    parse_campaign_node_job_id,
)

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def importers_of(module: str) -> list[str]:
    found = []
    for package in ("bot", "handlers", "schedules"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(n == module or n.startswith(module + ".") for n in names):
                    found.append(str(path.relative_to(ROOT)))
    return sorted(set(found))


def test_only_the_facade_imports_apscheduler() -> None:
    assert importers_of("apscheduler") == ["schedules/jobs.py"]


def test_schedules_knows_nothing_of_the_app_or_the_campaign_runtime() -> None:
    for module in ("bot.app", "bot.context", "bot.campaign", "handlers"):
        assert [p for p in importers_of(module) if p.startswith("schedules/")] == [], module


async def test_jobs_take_bot_time_and_grace_per_kind(tmp_path: Path) -> None:
    clock = VirtualClock(T0)
    settings = SchedulerSettings()
    jobs = Jobs.build(None, settings, clock=clock, timezone="Asia/Shanghai")
    jobs.start(paused=True)
    try:
        jid = campaign_node_job_id("c1", "open")
        jobs.at(
            "tests.schedules.test_jobs_facade:importers_of",
            T0 + timedelta(hours=1),
            id=jid,
            grace=Grace.CRITICAL,
            args=["apscheduler"],
        )
        jobs.at(
            "tests.schedules.test_jobs_facade:importers_of", T0, id="late", grace=Grace.UNBOUNDED, args=["x"]
        )
        job = jobs.get_job(jid)
        assert job is not None and job.coalesce and job.max_instances == 1
        assert job.next_run_time == clock.to_real(T0 + timedelta(hours=1))
        expected = max(2, int(clock.real_seconds(settings.critical_grace_seconds)))
        assert job.misfire_grace_time == expected
        assert jobs.get_job("late").misfire_grace_time is None  # type: ignore[union-attr]
        assert jobs.job_ids("campaign:c1:") == [jid]
        assert parse_campaign_node_job_id(jid) == ("c1", "open")
        assert parse_campaign_node_job_id("monitor:c1") is None
        assert jobs.remove(jid) and not jobs.remove(jid)
    finally:
        jobs.shutdown()


async def test_job_ids_come_from_the_id_column_without_unpickling_a_job(tmp_path: Path) -> None:
    """A campaign's reload lists its own jobs: with a hundred campaigns loaded, unpickling every
    stored job for that took seconds at a burst (issue 14, docs/performance.md)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    create_job_table(engine)
    jobs = Jobs.build(engine, SchedulerSettings(), clock=VirtualClock(T0), timezone="Asia/Shanghai")
    ids = [
        campaign_node_job_id("c_1", "open"),
        campaign_node_job_id("c_1", "close"),
        campaign_node_job_id("cx1", "open"),  # `_` is a LIKE wildcard: it must match only itself
        campaign_node_job_id("c%1", "open"),
        "monitor:c_1",
        "monitor:c_12",
    ]
    before = jobs.job_ids()
    assert before == []  # not started: the pending jobs, none yet
    jobs.start(paused=True)
    try:
        for jid in ids:
            when = T0 + timedelta(hours=1)
            jobs.at("tests.schedules.test_jobs_facade:importers_of", when, id=jid, grace=30, args=["x"])
        store = jobs._store
        assert store is not None

        def unpickled() -> list[Any]:
            raise AssertionError("job_ids unpickled every job")

        store.get_all_jobs = unpickled  # type: ignore[method-assign]
        assert jobs.job_ids("campaign:c_1:") == sorted(ids[:2])
        assert jobs.job_ids("campaign:c%1:") == [ids[3]]
        assert jobs.job_ids("monitor:c_1") == ["monitor:c_1", "monitor:c_12"]
        assert sorted(jobs.job_ids()) == sorted(ids)
    finally:
        jobs.shutdown()
        engine.dispose()
