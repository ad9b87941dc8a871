"""Start-up steps that wire the scheduled parts into an app: scheduler, campaigns, file watcher."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from loguru import logger

from bot.account_sync import AccountSync
from bot.app import App
from bot.campaign.peer_state import CampaignShared
from bot.campaign.runtime import CAMPAIGN_SUFFIXES, CampaignRuntime
from bot.jobs import JOB_HEALTH_CHECK
from bot.storage.election import SchedulerElection
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
        registry.leading = a.accounts is None  # several accounts: only the elected one runs jobs
        jobs.start(paused=not registry.leading)
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
        if a.accounts is not None:
            tasks.append(asyncio.create_task(start_account_sync(a, jobs, registry), name="account-sync"))

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


async def start_account_sync(app: App, jobs: Jobs, registry: CampaignRuntime) -> None:
    """Several accounts: follow the other processes, and run the scheduler once elected."""
    assert app.accounts is not None
    services = app.services
    election = SchedulerElection(services.repo.engine, app.accounts.me)
    services.shared_state.append(CampaignShared(registry))
    leading: list[asyncio.Task[None]] = []

    def on_lead() -> None:
        # The dead holder may have taken a node's job off the store mid-run: schedule every
        # campaign again (nodes not run in every group come back; the ledger stops doubles).
        registry.leading = True
        for campaign_id in list(registry.campaigns):
            registry.schedule(campaign_id)
        jobs.resume()
        leading.append(asyncio.create_task(wake_for_peers(jobs), name="scheduler-wakeup"))

    sync = AccountSync(services, app.accounts, election, on_lead, app.notify_admins, app.check_health)
    try:
        await sync.run()
    finally:
        for task in leading:
            task.cancel()
        await asyncio.to_thread(election.release)


async def wake_for_peers(jobs: Jobs, seconds: float = 1.0) -> None:
    """Look at the store every second: other processes add jobs it would not wake up for."""
    while True:
        await asyncio.sleep(seconds)
        jobs.wakeup()


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
