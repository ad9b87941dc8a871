"""Start-up steps that wire the scheduled parts into an app: scheduler, campaigns, file watcher."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from loguru import logger

from bot.app import App
from bot.campaign.runtime import CAMPAIGN_SUFFIXES, CampaignRegistry
from handlers.monitoring.monitor import CampaignMonitor
from schedules import runtime
from schedules.scheduler import build_scheduler


def install_features(app: App, *, persistent_jobs: bool = True, watch: bool = True) -> CampaignRegistry:
    """Attach the scheduler and the campaign registry; they start when the app runs."""
    services = app.services
    engine = services.repo.engine if persistent_jobs else None
    scheduler = build_scheduler(engine, services.config.scheduler, timezone=services.config.bot.timezone)
    registry = CampaignRegistry(app, scheduler)
    services.features["campaigns"] = registry
    services.features["monitor"] = CampaignMonitor(app)
    tasks: list[asyncio.Task[None]] = []

    async def start(a: App) -> None:
        runtime.set_app(a)
        scheduler.start()
        scheduler.add_job(
            "schedules.jobs:job_health_check",
            "interval",
            minutes=1,
            id="health",
            replace_existing=True,
            misfire_grace_time=30,
            coalesce=True,
            max_instances=1,
        )
        hour, minute = services.config.monitoring.daily_summary_at.split(":")
        scheduler.add_job(
            "schedules.jobs:job_daily_summary",
            "cron",
            hour=int(hour),
            minute=int(minute),
            timezone=services.config.bot.timezone,
            id="daily-summary",
            replace_existing=True,
            misfire_grace_time=3600,
            coalesce=True,
            max_instances=1,
        )
        registry.load_all()
        if watch:
            tasks.append(asyncio.create_task(watch_campaigns(registry), name="campaign-watcher"))

    async def stop(a: App) -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if scheduler.running:
            scheduler.shutdown(wait=False)
        runtime.set_app(None)

    app.startup_hooks.append(start)
    app.shutdown_hooks.append(stop)
    return registry


async def watch_campaigns(registry: CampaignRegistry) -> None:
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
