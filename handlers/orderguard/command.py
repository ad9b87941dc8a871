"""`/guard` (`/刷单`): the admins' private list of a campaign's padded-sales findings.

Admins only (by id), answered privately even when typed in a group: the findings name
members, and a group must never learn it is suspected of padding. Members are masked as in
the alerts unless the admin asks for whole ids (`--ids`) to act on them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.campaign import Campaign
from bot.context import Context
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.orderguard.patterns import Finding
from handlers.orderguard.report import rows_for
from handlers.orderguard.store import findings

HELP = {"--help", "-h", "help", "帮助", "?", "？"}
IDS = {"--ids", "ids", "全id", "完整id"}


@command("guard", "刷单", role=Role.ADMIN, private=True)
async def handle_guard(msg: GroupMessage, ctx: Context) -> None:
    """/guard [团购ID] [--ids] — 本团购的刷单疑点（管理员，私聊回复）；/guard --help 看说明"""
    args = list(ctx.args)
    if any(a.lower() in HELP for a in args):
        _private(ctx, "orderguard/usage.j2", usage=_usage(ctx), settings=ctx.config.order_guard)
        return
    full_ids = any(a.lower() in IDS for a in args)
    rest = [a for a in args if a.lower() not in IDS]
    registry = ctx.services.campaigns
    if len(rest) > 1 or (rest and rest[0] not in registry.campaigns):
        _private(
            ctx,
            "orderguard/unknown.j2",
            given=" ".join(rest),
            ids=sorted(registry.campaigns),
            usage=_usage(ctx),
        )
        return
    campaign = registry.campaigns[rest[0]].campaign if rest else _current(ctx)
    if campaign is None:
        _private(ctx, "orderguard/unknown.j2", given="", ids=[], usage=_usage(ctx))
        return
    found = await asyncio.to_thread(_read, ctx, campaign.id)
    _private(
        ctx,
        "orderguard/list.j2",
        title=campaign.title,
        campaign_id=campaign.id,
        rows=rows_for(ctx.services, found, full_ids=full_ids),
        full_ids=full_ids,
        enabled=ctx.config.order_guard.enabled,
    )


def _read(ctx: Context, campaign_id: str) -> list[Finding]:
    """The campaign's findings (a worker thread's part)."""
    with ctx.repo.engine.connect() as conn:
        return findings(conn, campaign_id)


def _current(ctx: Context) -> Campaign | None:
    """The campaign the admin most likely means: the group's (typed in a group), else one open now
    (the soonest to close), else the one closed last, else the next to open."""
    registry = ctx.services.campaigns
    now = ctx.clock.now()
    spans: list[tuple[Campaign, datetime, datetime]] = [
        (loaded.campaign, *registry.effective_times(cid)) for cid, loaded in registry.campaigns.items()
    ]
    if ctx.group_id:
        spans = [s for s in spans if ctx.group_id in registry.groups_of(s[0])] or spans
    open_now = sorted((s for s in spans if s[1] <= now < s[2]), key=lambda s: s[2])
    closed = sorted((s for s in spans if s[2] <= now), key=lambda s: s[2], reverse=True)
    upcoming = sorted((s for s in spans if now < s[1]), key=lambda s: s[1])
    for candidates in (open_now, closed, upcoming):
        if candidates:
            return candidates[0][0]
    return None


def _usage(ctx: Context) -> str:
    return ctx.spec.usage if ctx.spec else "/guard"


def _private(ctx: Context, template: str, **variables: object) -> None:
    ctx.send_private(ctx.sender_id, template, priority=Priority.COMMAND, kind="orderguard", **variables)


__all__ = ["handle_guard"]
