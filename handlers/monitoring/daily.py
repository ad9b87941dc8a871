"""The leaders' daily summary: one private message per leader, covering each group they lead.

Each group's campaigns with after-sales to show (a ticket, or the sale closed) add their
after-sales figures (`handlers.aftersales.figures`) below the day's activity.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.vocab import Priority
from handlers.aftersales.figures import Figures, figures_for
from handlers.monitoring.metrics import day_summary

if TYPE_CHECKING:
    from bot.context import Services


def leaders_by_group(services: Services) -> dict[str, list[str]]:
    """Leader id -> the groups they lead (config and chat grants)."""
    groups = set(services.config.groups) | services.repo.known_group_ids()
    out: dict[str, list[str]] = {}
    for group_id in sorted(groups):
        for leader in sorted(services.roles.leaders_of(group_id)):
            out.setdefault(leader, []).append(group_id)
    return out


def aftersales_rows(services: Services, groups: list[str], now: datetime) -> list[tuple[str, str, Figures]]:
    """(group name, campaign title, figures) for each campaign of these groups with after-sales to show."""
    rows = []
    for group_id in groups:
        for active in services.campaigns.in_group(group_id):
            figures = figures_for(services.repo.engine, active.campaign.id, [group_id], now)
            if figures is not None:
                rows.append((services.repo.group_name(group_id), active.campaign.title, figures))
    return rows


def send_daily_summaries(services: Services, now: datetime | None = None) -> int:
    """Queue today's summary to every leader; returns how many were queued."""
    now = now or services.clock.now()
    local = now.astimezone(ZoneInfo(services.config.bot.timezone))
    since = local.replace(hour=0, minute=0, second=0, microsecond=0)
    sent = 0
    for leader, groups in leaders_by_group(services).items():
        rows = [
            (
                services.repo.group_name(g),
                day_summary(services.repo.engine, g, since, now + timedelta(seconds=1)),
            )
            for g in groups
        ]
        text = services.renderer.render(
            "monitor/daily_summary.j2",
            bot_name=services.config.bot.name,
            day=local,
            rows=rows,
            aftersales=aftersales_rows(services, groups, now),
        )
        services.outbox.enqueue(text, member_id=leader, priority=Priority.DEFAULT, kind="daily-summary")
        sent += 1
    return sent
