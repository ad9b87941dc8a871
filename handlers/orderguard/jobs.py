"""When the order guard checks: every `check_minutes` while a campaign is open, and at its close.

Both are one-off jobs (APScheduler imports the bodies by reference; persisted, so a restart
keeps them). The periodic one reschedules itself while a group of the campaign still sells;
the open node's hook starts it and the close node's hook adds the close check, both after
the node's commit (`handlers.orderguard.hooks`), so a close spends no time reading orders.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from loguru import logger
from sqlalchemy.exc import OperationalError

from bot.background import in_background
from bot.context import Services
from handlers.orderguard.check import run_check
from schedules import runtime
from schedules.jobs import Grace

CHECK_JOB = "handlers.orderguard.jobs:job_check"
CLOSE_JOB = "handlers.orderguard.jobs:job_check_close"
RETRY_AFTER = timedelta(minutes=1)


def check_job_id(campaign_id: str) -> str:
    """Not under `campaign:<id>:`: the campaign runtime removes its own jobs by that prefix."""
    return f"orderguard:{campaign_id}"


def close_job_id(campaign_id: str) -> str:
    return f"orderguard-close:{campaign_id}"


def schedule_check(services: Services, campaign_id: str, now: datetime) -> None:
    """The next periodic check, `check_minutes` from now (replacing a pending one)."""
    scheduler = services.campaigns.scheduler
    settings = services.config.order_guard
    if scheduler is None or not settings.enabled:
        return
    scheduler.at(
        CHECK_JOB,
        now + timedelta(minutes=settings.check_minutes),
        args=[campaign_id],
        id=check_job_id(campaign_id),
        name=f"{campaign_id} order guard",
        grace=Grace.UNBOUNDED,  # a check run late still finds the same orders
    )


def schedule_close_check(services: Services, campaign_id: str, now: datetime) -> None:
    """The close check, due now: the scheduler runs it off the close's transaction."""
    scheduler = services.campaigns.scheduler
    if scheduler is None or not services.config.order_guard.enabled:
        return
    scheduler.at(
        CLOSE_JOB,
        now,
        args=[campaign_id],
        id=close_job_id(campaign_id),
        name=f"{campaign_id} order guard at close",
        grace=Grace.UNBOUNDED,
    )


async def job_check(campaign_id: str) -> None:
    """While the campaign is open: check it, then come back in `check_minutes` if a group still sells."""
    services = runtime.current(Services)
    registry = services.campaigns
    loaded = registry.campaigns.get(campaign_id)
    if loaded is None:
        logger.bind(campaign=campaign_id).info("order guard: campaign gone, periodic check stops")
        return
    try:
        await run_check(services, campaign_id)
    except OperationalError as exc:  # the database is busy or gone: the next check tries again
        logger.bind(campaign=campaign_id).warning("order guard: check failed, next one as usual: {}", exc)
    now = services.clock.now()
    selling = await in_background(registry.selling_groups, loaded.campaign)
    if selling and now < registry.effective_times(campaign_id)[1]:
        schedule_check(services, campaign_id, now)


async def job_check_close(campaign_id: str) -> None:
    """After a close (every group's, or one closed early by `/close`): check the whole campaign."""
    services = runtime.current(Services)
    try:
        await run_check(services, campaign_id, final=True)
    except OperationalError as exc:  # the last check of the campaign: never dropped, retried
        logger.bind(campaign=campaign_id).warning("order guard: close check failed, retrying: {}", exc)
        schedule_close_check(services, campaign_id, services.clock.now() + RETRY_AFTER)


__all__ = [
    "CHECK_JOB",
    "CLOSE_JOB",
    "check_job_id",
    "close_job_id",
    "job_check",
    "job_check_close",
    "schedule_check",
    "schedule_close_check",
]
