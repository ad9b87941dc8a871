"""The leaders' daily summary: one private message per leader, covering each group they lead."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.vocab import Priority
from handlers.monitoring.metrics import day_summary

if TYPE_CHECKING:
    from bot.app import App


def leaders_by_group(app: App) -> dict[str, list[str]]:
    """Leader id -> the groups they lead (config and chat grants)."""
    services = app.services
    groups = set(services.config.groups) | services.repo.known_group_ids()
    out: dict[str, list[str]] = {}
    for group_id in sorted(groups):
        for leader in sorted(services.roles.leaders_of(group_id)):
            out.setdefault(leader, []).append(group_id)
    return out


def send_daily_summaries(app: App, now: datetime | None = None) -> int:
    """Queue today's summary to every leader; returns how many were queued."""
    services = app.services
    now = now or services.clock.now()
    local = now.astimezone(ZoneInfo(services.config.bot.timezone))
    since = local.replace(hour=0, minute=0, second=0, microsecond=0)
    sent = 0
    for leader, groups in leaders_by_group(app).items():
        rows = [
            (
                services.repo.group_name(g),
                day_summary(services.repo.engine, g, since, now + timedelta(seconds=1)),
            )
            for g in groups
        ]
        text = services.renderer.render(
            "monitor/daily_summary.j2", bot_name=services.config.bot.name, day=local, rows=rows
        )
        services.outbox.enqueue(text, member_id=leader, priority=Priority.DEFAULT, kind="daily-summary")
        sent += 1
    return sent
