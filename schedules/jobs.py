"""Job bodies: module-level async functions with plain arguments.

APScheduler stores them by reference (`schedules.jobs:job_timeline_node`) in
the persistent job store, so they must stay importable under these names.
"""

from __future__ import annotations

import asyncio

from schedules import runtime


async def job_timeline_node(campaign_id: str, node_id: str) -> None:
    """Run one campaign timeline node in every group of the campaign."""
    app = runtime.current_app()
    registry = app.services.features["campaigns"]
    await registry.run_node(campaign_id, node_id)


async def job_health_check() -> None:
    """Every minute: long disconnects and a growing outbox backlog, reported to admins."""
    runtime.current_app().check_health()


async def job_monitor(campaign_id: str) -> None:
    """Every minute while a campaign is open: check its groups against the alert rules."""
    app = runtime.current_app()
    registry = app.services.features["campaigns"]
    loaded = registry.campaigns.get(campaign_id)
    if loaded is None:
        return
    monitor = app.services.features["monitor"]
    # A group closed early (`/close`) has no sale left to watch: no alerts about it or to its leaders.
    groups = registry.selling_groups(loaded.campaign)
    if not groups:
        return
    now = app.services.clock.now()
    observations = await asyncio.to_thread(monitor.observe, loaded.campaign, groups, now)
    monitor.apply(loaded.campaign, groups, now, observations)


async def job_daily_summary() -> None:
    """At `monitoring.daily_summary_at`: each leader gets the day's figures for their groups."""
    from handlers.monitoring.daily import send_daily_summaries

    send_daily_summaries(runtime.current_app())
