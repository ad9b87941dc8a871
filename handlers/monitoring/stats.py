"""/stats for leaders: the group's orders, buyers, GMV and conversion, sent privately, and the
after-sales figures once there is a ticket or the sale is closed (`handlers.aftersales.figures`).

It lives with monitoring because it reads the activity metrics (who spoke, who bought);
the sale's own figures come from the selling feature.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.context import Context, Services
from bot.events import GroupMessage
from bot.feature import FeatureFigures
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.aftersales.figures import figures_for
from handlers.monitoring.metrics import day_summary, group_metrics
from handlers.selling.leader import campaign_for_command
from handlers.selling.results import Conversion, compute_results
from handlers.selling.service import selling


def conversion(services: Services, campaign_id: str, group_id: str, since: datetime) -> Conversion:
    """Buyers over active members (spoke or ordered since `since`) and over all members (docs/metrics.md)."""
    m = group_metrics(
        services.repo.engine, campaign_id, group_id, since, services.clock.now() + timedelta(seconds=1)
    )
    return Conversion(buyers=m.buyers, speakers=m.active_members, members=m.members)


@command("stats", "战绩", role=Role.LEADER)
async def handle_stats(msg: GroupMessage, ctx: Context) -> None:
    """/stats [today | 活动ID] — 本群订单、下单人数、GMV、转化率；today 看今日数据（私聊发给团长）"""
    await ctx.services.settle()  # orders sent just before are committed first
    await asyncio.to_thread(ctx.services.flush_inbound)  # who spoke is written behind the loop
    if ctx.args and ctx.args[0].lower() in {"today", "今天", "今日"}:
        _stats_today(msg, ctx)
        return
    if ctx.args and ctx.args[0].lower() == "campaign":
        ctx.command = replace(ctx.command, args=ctx.args[1:]) if ctx.command else None
    found = campaign_for_command(ctx, msg)
    if found is None:
        return
    campaign, status, _ = found
    sell = selling(ctx.services)
    sell.ensure_stock(campaign)
    stock = sell.store.stock(campaign.id)
    results = compute_results(sell.store.orders(campaign.id, group_id=msg.group_id), stock)
    # Count from when the sale really opened in this group (early by /open), else from the schedule.
    registry = sell.registry
    opened_at = registry.store.opened_at(campaign.id, msg.group_id) if registry is not None else None
    opens_at = opened_at or sell.times(campaign)[0]
    conv = conversion(ctx.services, campaign.id, msg.group_id, opens_at)
    figures = figures_for(ctx.repo.engine, campaign.id, [msg.group_id], ctx.clock.now())
    loops = ctx.services.find(FeatureFigures)
    growth = loops.collect(ctx.repo.engine, campaign.id, [msg.group_id]) if loops is not None else {}
    ctx.send_private(
        msg.sender.id,
        "aftersales/stats.j2",  # sales/stats.j2, then the after-sales figures when there are any
        title=campaign.title,
        group=ctx.repo.group_name(msg.group_id),
        status=status,
        results=results,
        conversion=conv,
        opens_at=opens_at,
        figures=figures,
        growth=growth,
        priority=Priority.COMMAND,
    )


def _stats_today(msg: GroupMessage, ctx: Context) -> None:
    """Today's activity in this group (local midnight to now), across campaigns."""
    now = ctx.clock.now()
    local = now.astimezone(ZoneInfo(ctx.config.bot.timezone))
    since = local.replace(hour=0, minute=0, second=0, microsecond=0)
    summary = day_summary(ctx.repo.engine, msg.group_id, since, now + timedelta(seconds=1))
    ctx.send_private(
        msg.sender.id,
        "sales/stats_today.j2",
        group=ctx.repo.group_name(msg.group_id),
        day=local,
        s=summary,
        priority=Priority.COMMAND,
    )
