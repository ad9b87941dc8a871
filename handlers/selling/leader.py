"""The leader's sale controls and the countdown and close posts.

`/open` and `/close` run the campaign's own open/close node for the leader's
group now, through the same exactly-once ledger as the schedule, so the
scheduled node later finds it done and posts nothing twice. Closing first
flips the group's state in a write transaction serialised with the order
writer (an order racing it is either committed before, and counted in the
results, or refused after), then renders results from the committed orders.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from loguru import logger

from bot.campaign import Campaign, TimelineNode, parse_duration
from bot.campaign.nodes import NodeRun, render_node
from bot.campaign.timeline_rules import MAX_LEADER_SHIFT, readable_duration
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import command
from bot.outbox import Draft
from bot.vocab import Priority, Role
from handlers.monitoring.metrics import day_summary, group_metrics
from handlers.selling.orders import Selling, selling
from handlers.selling.pricing import close_instant
from handlers.selling.results import Conversion, compute_results, export_csv
from handlers.selling.settlement import CampaignMoney, money_now, settle_group
from handlers.selling.stock import reply_unknown_product

if TYPE_CHECKING:
    from bot.campaign.runtime import CampaignRegistry

COUNTDOWN_JOB = "handlers.selling.leader:job_countdown"


def format_left(left: timedelta) -> str:
    """Exact time left in Chinese: 10分钟, 4分30秒, 1小时5分钟, 45秒."""
    seconds = max(0, int(left.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分钟" if minutes else f"{hours}小时"
    if minutes:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分钟"
    return f"{secs}秒"


# ------------------------------------------------------------------------------------ node runners
def run_countdown(run: NodeRun) -> list[Draft]:
    """T-10m/T-5m/T-1m: the exact time left; nothing once the group has opened (e.g. early by /open)."""
    if selling(run.services).status(run.campaign.id, run.group_id) != "scheduled":
        return []
    # Count from the node's own time unless it ran well late, so a busy second never says "9分59秒".
    reference = run.now if run.now - run.fire_at > timedelta(seconds=60) else run.fire_at
    left = run.opens_at - reference
    if left <= timedelta(0):
        return []
    minutes = math.ceil(left.total_seconds() / 60)
    text = render_node(run, "campaign/countdown.j2", minutes_left=minutes, time_left=format_left(left))
    return [Draft(text=text, group_id=run.group_id, priority=Priority.CAMPAIGN, kind="countdown")]


def run_close(run: NodeRun) -> list[Draft]:
    """C: stop ordering in the group, then post results, thanks naming buyers, and the next preview."""
    sell = selling(run.services)
    campaign, group_id = run.campaign, run.group_id
    sell.ensure_stock(campaign)
    sell.set_status(campaign.id, group_id, "closed")
    money = _settle(sell, campaign, group_id, close_instant(run.now, run.closes_at))
    stock = sell.store.stock(campaign.id)
    group_results = compute_results(sell.store.orders(campaign.id, group_id=group_id), stock)
    everywhere = compute_results(sell.store.orders(campaign.id), stock)
    params = run.node.params
    closing = render_node(run, "campaign/close.j2", results=group_results)
    if params.get("results", True) and everywhere.buyers:  # "0 人下单，成交额 ¥0" is no news (13.15)
        closing += "\n\n" + sell._render(
            "sales/results.j2",
            title=campaign.title,
            group=group_results,
            total=everywhere,
            groups=len(sell.groups_of(campaign)),
            money=money.of(group_id),
            total_money=money.total,
        )
    posts = [("close", closing)]
    if params.get("thanks", True) and group_results.buyers:
        posts.append(
            ("thanks", sell._render("sales/thanks.j2", names=group_results.buyer_names, title=campaign.title))
        )
    if params.get("next_preview"):
        posts.append(("preview", sell._render("sales/preview.j2", preview=params["next_preview"])))
    return [
        Draft(text=text, group_id=group_id, priority=Priority.CAMPAIGN, kind=kind) for kind, text in posts
    ]


def _settle(sell: Selling, campaign: Campaign, group_id: str, at: datetime) -> CampaignMoney:
    """Redeem what the group's buyers' quotes at the close instant `at` apply; the money after it."""
    orders = sell.store.orders(campaign.id)
    try:
        settle_group(sell.services.features, campaign.id, campaign.spend_tiers, orders, group_id, at)
    except Exception:
        logger.opt(exception=True).error("coupon settlement at close of {} failed", campaign.id)
    return money_now(sell.services.features, campaign.id, campaign.spend_tiers, orders, at)


NODE_RUNNERS = {"countdown": run_countdown, "close": run_close}


# ------------------------------------------------------------------------------------ one group, now
def run_node_in_group(
    registry: CampaignRegistry, campaign_id: str, node: TimelineNode, group_id: str, *, detail: str = ""
) -> bool:
    """Run one node for one group now, exactly once (ledger) like the scheduler; False if it had run."""
    now = registry.app.services.clock.now()
    return registry.run_in_group(campaign_id, node, group_id, now=now, detail=detail) is not None


def _registry(ctx: Context) -> CampaignRegistry | None:
    registry: CampaignRegistry | None = ctx.services.features.get("campaigns")
    if registry is None:
        ctx.reply("campaign/not_running.j2", priority=Priority.COMMAND)
    return registry


def _campaign(ctx: Context, msg: GroupMessage) -> tuple[Campaign, str, list[str]] | None:
    """The campaign a leader command is about: `[ID]` as first argument, else the group's current one."""
    sell = selling(ctx.services)
    args = list(ctx.args)
    registry = sell.registry
    if args and registry is not None and args[0] in registry.campaigns:
        campaign = registry.campaigns[args.pop(0)].campaign
        if msg.group_id not in sell.groups_of(campaign):
            ctx.reply("sales/not_in_group.j2", campaign_id=campaign.id, priority=Priority.COMMAND)
            return None
        return campaign, sell.status(campaign.id, msg.group_id), args
    picked = sell.pick(msg.group_id)
    if picked is None:
        ctx.reply("sales/no_campaign.j2", priority=Priority.COMMAND)
        return None
    return picked[0], picked[1], args


# ------------------------------------------------------------------------------------ commands
@command("open", "开团", role=Role.LEADER)
async def handle_open(msg: GroupMessage, ctx: Context) -> None:
    """/open [活动ID] — 立即在本群开团（团长）"""
    registry = _registry(ctx)
    found = _campaign(ctx, msg) if registry is not None else None
    if registry is None or found is None:
        return
    campaign, status, _ = found
    if status != "scheduled":
        ctx.reply(
            "sales/already.j2", action="open", status=status, title=campaign.title, priority=Priority.COMMAND
        )
        return
    node = next(n for n in registry.effective_nodes(campaign.id) if n.kind == "open")
    if not run_node_in_group(
        registry, campaign.id, node, msg.group_id, detail=f"early by /open from {msg.sender.id}"
    ):
        ctx.reply(
            "sales/already.j2", action="open", status="open", title=campaign.title, priority=Priority.COMMAND
        )


@command("close", "结团", role=Role.LEADER)
async def handle_close(msg: GroupMessage, ctx: Context) -> None:
    """/close [活动ID] — 立即在本群结团并公布战绩（团长）"""
    registry = _registry(ctx)
    found = _campaign(ctx, msg) if registry is not None else None
    if registry is None or found is None:
        return
    campaign, status, _ = found
    if status == "closed":
        ctx.reply(
            "sales/already.j2", action="close", status=status, title=campaign.title, priority=Priority.COMMAND
        )
        return
    node = next(n for n in registry.effective_nodes(campaign.id) if n.kind == "close")
    if not run_node_in_group(
        registry, campaign.id, node, msg.group_id, detail=f"early by /close from {msg.sender.id}"
    ):
        ctx.reply(
            "sales/already.j2",
            action="close",
            status="closed",
            title=campaign.title,
            priority=Priority.COMMAND,
        )


@command("orders", "接龙", role=Role.LEADER)
async def handle_orders(msg: GroupMessage, ctx: Context) -> None:
    """/orders [编号] — 本群接龙名单（团长）"""
    found = _campaign(ctx, msg)
    if found is None:
        return
    campaign, _, args = found
    sell = selling(ctx.services)
    code = args[0].upper() if args else None
    if code is not None and campaign.product(code) is None:
        reply_unknown_product(ctx, campaign, code)
        return
    entries = sell.store.chain(campaign.id, msg.group_id)
    ctx.reply(
        "sales/orders.j2",
        text=sell.render_chain(campaign, entries, None, 200, code),
        empty=not entries,
        priority=Priority.COMMAND,
    )


def conversion(services: Services, campaign_id: str, group_id: str, since: datetime) -> Conversion:
    """Buyers over active members (spoke or ordered since `since`) and over all members (docs/metrics.md)."""
    m = group_metrics(
        services.repo.engine, campaign_id, group_id, since, services.clock.now() + timedelta(seconds=1)
    )
    return Conversion(buyers=m.buyers, speakers=m.active_members, members=m.members)


@command("stats", "战绩", role=Role.LEADER)
async def handle_stats(msg: GroupMessage, ctx: Context) -> None:
    """/stats [today | 活动ID] — 本群订单、下单人数、GMV、转化率；today 看今日数据（私聊发给团长）"""
    if ctx.args and ctx.args[0].lower() in {"today", "今天", "今日"}:
        _stats_today(msg, ctx)
        return
    if ctx.args and ctx.args[0].lower() == "campaign":
        ctx.command = replace(ctx.command, args=ctx.args[1:]) if ctx.command else None
    found = _campaign(ctx, msg)
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
    ctx.send_private(
        msg.sender.id,
        "sales/stats.j2",
        title=campaign.title,
        group=ctx.repo.group_name(msg.group_id),
        status=status,
        results=results,
        conversion=conv,
        opens_at=opens_at,
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


@command("export", "导出", role=Role.LEADER)
async def handle_export(msg: GroupMessage, ctx: Context) -> None:
    """/export [all] — 导出订单 CSV（按自提点分组，保存到 data/exports/，私聊告知团长）"""
    found = _campaign(ctx, msg)
    if found is None:
        return
    campaign, _, args = found
    sell = selling(ctx.services)
    everywhere = bool(args and args[0].lower() == "all" and ctx.role >= Role.ADMIN)
    orders = sell.store.orders(campaign.id, group_id=None if everywhere else msg.group_id)
    stock = sell.store.stock(campaign.id)
    pickups = sell.store.pickups(campaign.id)
    groups = sell.groups_of(campaign)
    csv_text, rows = export_csv(
        orders, stock, pickups, {g: ctx.repo.group_name(g) for g in groups}, campaign.tz
    )
    folder = ctx.config.path(ctx.config.exports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = ctx.clock.now().astimezone(campaign.tz).strftime("%Y%m%d-%H%M%S")
    scope = "all" if everywhere else _slug(msg.group_id)
    path = folder / f"{campaign.id}-{scope}-{stamp}.csv"
    path.write_text(csv_text, encoding="utf-8-sig")  # BOM: Excel opens Chinese CSV correctly
    by_point: dict[str, int] = {}
    for order in orders:
        point = pickups.get(order.member_id, "未选择")
        by_point[point] = by_point.get(point, 0) + order.quantity
    ctx.send_private(
        msg.sender.id,
        "sales/exported.j2",
        path=_shown(path, ctx),
        rows=rows,
        by_point=sorted(by_point.items()),
        title=campaign.title,
        priority=Priority.COMMAND,
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40] or "group"


def _shown(path: Path, ctx: Context) -> str:
    try:
        return str(path.relative_to(ctx.config.path(".").resolve()))
    except ValueError:
        return str(path)


@command("countdown", "倒计时", role=Role.LEADER)
async def handle_countdown(msg: GroupMessage, ctx: Context) -> None:
    """/countdown [5m] — 开团前 5 分钟再发一条倒计时；不带参数则立即发（团长）"""
    found = _campaign(ctx, msg)
    if found is None:
        return
    campaign, status, args = found
    if status != "scheduled":
        ctx.reply(
            "sales/already.j2",
            action="countdown",
            status=status,
            title=campaign.title,
            priority=Priority.COMMAND,
        )
        return
    sell = selling(ctx.services)
    opens_at = sell.times(campaign)[0]
    now = ctx.clock.now()
    try:
        before = parse_duration(args[0]) if args else opens_at - now
    except OverflowError:
        before = timedelta.max  # past what a timedelta holds: answered as too long below
    except ValueError:
        ctx.usage()
        return
    if args and before > MAX_LEADER_SHIFT:
        ctx.reply(
            "campaign/duration_too_long.j2",
            what="倒计时提前",
            limit=readable_duration(MAX_LEADER_SHIFT.total_seconds()),
            given=args[0],
            usage=ctx.spec.usage if ctx.spec else "",
            priority=Priority.COMMAND,
        )
        return
    seconds = int(before.total_seconds())
    fire_at = opens_at - timedelta(seconds=seconds)
    if seconds <= 0 or fire_at <= now:
        post_countdown(ctx.services, campaign.id, msg.group_id, int((opens_at - now).total_seconds()))
        return
    registry = sell.registry
    scheduler = registry.scheduler if registry is not None else None
    if scheduler is None:
        ctx.reply("campaign/not_running.j2", priority=Priority.COMMAND)
        return
    from apscheduler.triggers.date import DateTrigger

    scheduler.add_job(
        COUNTDOWN_JOB,
        trigger=DateTrigger(run_date=ctx.clock.to_real(fire_at)),
        args=[campaign.id, msg.group_id, seconds],
        id=f"countdown:{campaign.id}:{msg.group_id}:{seconds}",
        replace_existing=True,
        misfire_grace_time=max(2, int(ctx.clock.real_seconds(60))),
        coalesce=True,
    )
    ctx.reply(
        "sales/countdown_added.j2",
        at=fire_at,
        left=format_left(before),
        title=campaign.title,
        priority=Priority.COMMAND,
    )


def post_countdown(services: Services, campaign_id: str, group_id: str, seconds: int) -> bool:
    """Post a leader-added countdown once (ledger id `countdown-leader-<seconds>s`)."""
    sell = selling(services)
    registry = sell.registry
    if registry is None or campaign_id not in registry.campaigns:
        return False
    opens_at, _ = registry.effective_times(campaign_id)
    campaign = registry.campaigns[campaign_id].campaign
    fire_at = opens_at - timedelta(seconds=seconds)
    # The campaign's own countdown at the same moment is the same post: run that node (its ledger
    # row makes it once), never a second "倒计时 5分钟" seconds apart.
    same = (
        n for n in registry.effective_nodes(campaign_id) if n.kind == "countdown" and n.fire_at == fire_at
    )
    node = next(same, None) or TimelineNode(
        f"countdown-leader-{seconds}s",
        "countdown",
        fire_at.astimezone(campaign.tz),
        fire_at - opens_at,
        {},
        False,
    )
    return run_node_in_group(registry, campaign_id, node, group_id, detail="added by /countdown")


async def job_countdown(campaign_id: str, group_id: str, seconds: int) -> None:
    """Scheduled body of a leader's `/countdown` (module-level so a persistent job store can import it)."""
    from schedules import runtime

    post_countdown(runtime.current_app().services, campaign_id, group_id, seconds)


__all__ = [
    "NODE_RUNNERS",
    "format_left",
    "handle_close",
    "handle_countdown",
    "handle_export",
    "handle_open",
    "handle_orders",
    "handle_stats",
    "job_countdown",
    "post_countdown",
    "run_close",
    "run_countdown",
    "run_node_in_group",
]
