"""The monitoring feature's job bodies (APScheduler imports them by reference)."""

from __future__ import annotations

from bot.background import in_background
from bot.context import Services
from handlers.monitoring.daily import send_daily_summaries
from handlers.monitoring.monitor import CampaignMonitor
from schedules import runtime


async def job_monitor(campaign_id: str) -> None:
    """Every minute while a campaign is open: check its groups against the alert rules."""
    services = runtime.current(Services)
    loaded = services.campaigns.campaigns.get(campaign_id)
    if loaded is None:
        return
    monitor = services.get(CampaignMonitor)
    # A group closed early (`/close`) has no sale left to watch: no alerts about it or to its leaders.
    # (Read off the loop: at an opening a hundred campaigns' monitors start in the same second.)
    groups = await in_background(services.campaigns.selling_groups, loaded.campaign)
    if not groups:
        return
    now = services.clock.now()
    observations = await in_background(monitor.observe, loaded.campaign, groups, now)
    monitor.apply(loaded.campaign, groups, now, observations)


async def job_daily_summary() -> None:
    """At `monitoring.daily_summary_at`: each leader gets the day's figures for their groups."""
    services = runtime.current(Services)
    await in_background(services.flush_inbound)  # who spoke today is written behind
    send_daily_summaries(services)
