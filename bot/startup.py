"""Start-up steps that wire the scheduled parts into an app: scheduler, campaigns, file watcher."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from loguru import logger

from bot.app import App
from bot.campaign.runtime import CAMPAIGN_SUFFIXES, CampaignRuntime
from bot.jobs import JOB_HEALTH_CHECK
from schedules import runtime
from schedules.jobs import DAILY_SUMMARY_JOB_ID, HEALTH_JOB_ID, Jobs

# The monitoring feature's job body, by reference (APScheduler imports it when it runs).
JOB_DAILY_SUMMARY = "handlers.monitoring.jobs:job_daily_summary"


def install_features(app: App, *, persistent_jobs: bool = True, watch: bool = True) -> CampaignRuntime:
    """Attach the scheduler and the campaign registry; they start when the app runs."""
    services = app.services
    engine = services.repo.engine if persistent_jobs else None
    jobs = Jobs.build(
        engine, services.config.scheduler, clock=services.clock, timezone=services.config.bot.timezone
    )
    registry = services.campaigns
    registry.attach_scheduler(jobs)
    tasks: list[asyncio.Task[None]] = []

    async def start(a: App) -> None:
        runtime.install(a, a.services, a.services.campaigns)
        jobs.start()
        jobs.every(JOB_HEALTH_CHECK, seconds=60, id=HEALTH_JOB_ID, grace=30, wall_clock=True)
        jobs.daily(
            JOB_DAILY_SUMMARY,
            services.config.monitoring.daily_summary_at,
            id=DAILY_SUMMARY_JOB_ID,
            grace=3600,
            timezone=services.config.bot.timezone,
        )
        registry.load_all()
        if watch:
            tasks.append(asyncio.create_task(watch_campaigns(registry), name="campaign-watcher"))

    async def stop(a: App) -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        jobs.shutdown(wait=False)
        runtime.uninstall()

    app.startup_hooks.append(start)
    app.shutdown_hooks.append(stop)
    return registry


async def watch_campaigns(registry: CampaignRuntime) -> None:
    """Reload campaign files as admins save them; a broken save is rejected, not applied."""
    from watchfiles import Change, awatch

    directory = registry.directory
    directory.mkdir(parents=True, exist_ok=True)
    async for changes in awatch(directory, debounce=800, recursive=False):
        for change, raw in sorted(changes, key=lambda c: c[1]):
            path = Path(raw)
            if path.suffix not in CAMPAIGN_SUFFIXES:
                continue
            if change == Change.deleted or not path.exists():
                registry.remove_file(path)
            else:
                logger.info("campaign file changed: {}", path.name)
                registry.load_file(path)
