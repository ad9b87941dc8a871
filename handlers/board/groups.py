"""The groups page: each group's activity and conversion now, against the documents' thresholds.

"Now" is what the alert check would measure at this moment: a fresh `CampaignMonitor`'s
observation (every rule due), each rule over its own window (active members over 30 minutes,
messages per minute over 5, conversion over 60) with the campaign's thresholds, so the page
and the alerts never disagree. The whole-sale figures come from the snapshot's report rows;
the after-sales figures are `handlers.aftersales.figures.figures_for` over the viewer's groups.
Reads only; call `groups_view` in a worker thread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.context import Services
from handlers.aftersales.figures import figures_for
from handlers.board.figures import Snapshot
from handlers.board.views import group_row
from handlers.monitoring.monitor import GROUP_RULES, CampaignMonitor, campaign_rules


def rule_checks(
    services: Services, snapshot: Snapshot, groups: list[str], now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Group id -> one entry per group rule: value, threshold, whether it is breached (None value:
    not measurable, e.g. no known members)."""
    campaign = snapshot.campaign
    rules = campaign_rules(campaign)
    observed = {
        (o.group_id, o.rule): o.value for o in CampaignMonitor(services).observe(campaign, groups, now)
    }
    checks: dict[str, list[dict[str, Any]]] = {}
    for group_id in groups:
        entries = []
        for name in GROUP_RULES:
            rule = rules[name]
            value = observed.get((group_id, name))
            entries.append(
                {
                    "rule": name,
                    "value": value,
                    "threshold": rule.threshold,
                    "window_minutes": round(rule.window.total_seconds() / 60),
                    "breached": value is not None and rule.breached(value),
                }
            )
        checks[group_id] = entries
    return checks


def groups_view(services: Services, snapshot: Snapshot, groups: list[str]) -> dict[str, Any]:
    """Everything the groups page shows, for these groups."""
    now = snapshot.inputs.now
    campaign = snapshot.campaign
    checks = rule_checks(services, snapshot, groups, now) if campaign.monitoring.enabled else {}
    figures = figures_for(services.repo.engine, campaign.id, groups, now)
    return {
        "campaign": {"id": campaign.id, "title": campaign.title},
        "as_of": now,
        "monitoring": campaign.monitoring.enabled,
        "groups": [{**group_row(snapshot, g, snapshot.rows[g]), "checks": checks.get(g, [])} for g in groups],
        "aftersales": None if figures is None else {**figures.as_dict(), "over_target": figures.over_target},
    }


__all__ = ["groups_view", "rule_checks"]
