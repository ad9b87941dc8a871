"""Leader control of running campaigns: list, status, pause, resume, delay; admin /reload."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.campaign import parse_duration
from bot.campaign.timeline_rules import MAX_LEADER_SHIFT, readable_duration
from bot.context import Context
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.coupons.wallet import CouponStore

if TYPE_CHECKING:
    from bot.campaign.runtime import CampaignRuntime


@command("campaign", "活动", role=Role.LEADER, private=True)
async def handle_campaign(msg: GroupMessage, ctx: Context) -> None:
    """/campaign list | status ID | pause ID | resume ID | delay ID 15m — 查看和控制活动（团长）"""
    registry = ctx.running_campaigns()
    if registry is None:
        return
    action = ctx.args[0].lower() if ctx.args else "list"
    if action == "status" and len(ctx.args) == 1:
        # Without an id: the one live campaign of this group, else the list to choose from.
        live = _live_here(registry, ctx)
        if len(live) != 1:
            _reply_list(registry, ctx, live or sorted(registry.campaigns))
            return
        ctx.command = replace(ctx.command, args=(*ctx.args, live[0])) if ctx.command else None
    if action == "list":
        _reply_list(registry, ctx, sorted(registry.campaigns))
        return
    if action not in {"status", "pause", "resume", "delay"} or len(ctx.args) < 2:
        ctx.usage()
        return
    campaign_id = ctx.args[1]
    if campaign_id not in registry.campaigns:
        ctx.reply(
            "campaign/unknown.j2",
            campaign_id=campaign_id,
            known=sorted(registry.campaigns),
            priority=Priority.COMMAND,
        )
        return
    if action == "status":
        states = registry.node_states(campaign_id)
        now = ctx.clock.now()
        upcoming = list(
            {n.node_id: n for n, _, state, _ in states if state == "pending" and n.fire_at >= now}.values()
        )
        counts: dict[str, int] = {}
        for _, _, state, _ in states:
            counts[state] = counts.get(state, 0) + 1
        ctx.reply(
            "campaign/status.j2",
            campaign=registry.campaigns[campaign_id].campaign,
            counts=counts,
            upcoming=upcoming[:5],
            paused=registry.control(campaign_id).paused,
            priority=Priority.COMMAND,
        )
    elif action == "pause":
        registry.pause(campaign_id, ctx.sender_id)
        ctx.reply("campaign/paused.j2", campaign_id=campaign_id, priority=Priority.COMMAND)
    elif action == "resume":
        registry.resume(campaign_id, ctx.sender_id)
        ctx.reply("campaign/resumed.j2", campaign_id=campaign_id, priority=Priority.COMMAND)
    else:
        try:
            shift = parse_duration(ctx.args[2]) if len(ctx.args) > 2 else None
        except OverflowError:
            shift = timedelta.max  # past what a timedelta holds: answered as too long below
        except ValueError:
            shift = None
        if shift is None or shift <= timedelta(0):
            ctx.usage()
            return
        if shift > MAX_LEADER_SHIFT:
            ctx.reply(
                "campaign/duration_too_long.j2",
                what="推迟",
                limit=readable_duration(MAX_LEADER_SHIFT.total_seconds()),
                given=ctx.args[2],
                usage=ctx.spec.usage if ctx.spec else "",
                priority=Priority.COMMAND,
            )
            return
        _, old_close = registry.effective_times(campaign_id)
        registry.delay(campaign_id, ctx.sender_id, int(shift.total_seconds()))
        opens_at, closes_at = registry.effective_times(campaign_id)
        CouponStore(ctx.repo.engine).follow_close(campaign_id, old_close, closes_at)
        ctx.reply(
            "campaign/delayed.j2",
            campaign_id=campaign_id,
            minutes=int(shift.total_seconds() // 60),
            opens_at=opens_at,
            closes_at=closes_at,
            priority=Priority.COMMAND,
        )


def _live_here(registry: CampaignRuntime, ctx: Context) -> list[str]:
    """Ids of the campaigns running in the message's group and not closed there yet."""
    group_id = ctx.group_id
    if not group_id:
        return []
    live = []
    for campaign_id, loaded in sorted(registry.campaigns.items()):
        if not registry.runs_in(loaded.campaign, group_id):
            continue
        closed = registry.store.group_status(campaign_id, group_id) == "closed"
        if not closed and ctx.clock.now() < registry.effective_times(campaign_id)[1]:
            live.append(campaign_id)
    return live


def _reply_list(registry: CampaignRuntime, ctx: Context, campaign_ids: list[str]) -> None:
    rows = []
    for campaign_id in campaign_ids:
        opens_at, closes_at = registry.effective_times(campaign_id)
        paused = registry.control(campaign_id).paused
        rows.append((registry.campaigns[campaign_id].campaign, opens_at, closes_at, paused))
    ctx.reply("campaign/list.j2", rows=rows, priority=Priority.COMMAND)


@command("reload", "重新加载", role=Role.ADMIN, private=True)
async def handle_reload(msg: GroupMessage, ctx: Context) -> None:
    """/reload — 重新加载全部活动文件（管理员）；有错误的文件不生效，旧版本继续运行"""
    registry = ctx.running_campaigns()
    if registry is None:
        return
    problems = registry.load_all()
    ctx.reply(
        "campaign/reloaded.j2",
        count=len(registry.campaigns),
        problems=problems[:5],
        more=max(0, len(problems) - 5),
        priority=Priority.COMMAND,
    )
