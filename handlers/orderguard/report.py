"""How findings read for the admins: one short table per check, privately, never in a group.

A finding becomes one row: the pattern, its group(s), its members masked (`张*(al…ce)`), their
orders, and why (worded by `templates/orderguard/_why.j2` from the finding's figures). The
wording lives in the templates; this module only prepares plain values for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loguru import logger

from bot.campaign import Campaign
from bot.context import Services
from bot.vocab import Priority
from handlers.orderguard.patterns import Finding
from handlers.orderguard.signals import mask_member

MAX_ROWS = 15
"""Rows in one alert; the rest are counted and left to `/guard` (a chat message stays readable)."""
MAX_MEMBERS = 6
"""Members shown per row; the rest are counted."""


@dataclass(frozen=True)
class Row:
    """One finding, ready for the templates."""

    pattern: str
    groups: list[str]
    members: list[str]
    more_members: int
    orders: int
    detail: dict[str, Any]


def rows_for(services: Services, found: list[Finding], *, full_ids: bool = False) -> list[Row]:
    """Template rows: group names, masked members (whole ids only when `full_ids`), parsed figures."""
    rows = []
    for finding in found:
        detail = dict(finding.detail)
        if "at" in detail:
            detail["at"] = datetime.fromisoformat(str(detail["at"]))
        masked = [mask_member(m.name, m.member_id, full_id=full_ids) for m in finding.members]
        rows.append(
            Row(
                pattern=finding.pattern,
                groups=[services.repo.group_name(g) for g in finding.groups],
                members=masked[:MAX_MEMBERS],
                more_members=max(0, len(masked) - MAX_MEMBERS),
                orders=finding.orders,
                detail=detail,
            )
        )
    return rows


def tell_admins(services: Services, campaign: Campaign, found: list[Finding], *, final: bool) -> int:
    """One private message to each admin with this check's new findings; how many were sent."""
    admins = sorted(services.config.admins)
    if not found:
        return 0
    if not admins:
        logger.bind(campaign=campaign.id).warning(
            "order guard: {} finding(s) and no admin configured to tell", len(found)
        )
        return 0
    rows = rows_for(services, found)
    text = services.renderer.render(
        "orderguard/alert.j2",
        bot_name=services.config.bot.name,
        title=campaign.title,
        campaign_id=campaign.id,
        final=final,
        rows=rows[:MAX_ROWS],
        more=max(0, len(rows) - MAX_ROWS),
    )
    for admin in admins:
        services.outbox.enqueue(text, member_id=admin, priority=Priority.DEFAULT, kind="orderguard")
    logger.bind(campaign=campaign.id).info(
        "order guard: {} new finding(s) told to {} admin(s)", len(found), len(admins)
    )
    return len(admins)


__all__ = ["MAX_ROWS", "Row", "rows_for", "tell_admins"]
