"""The leader's sale controls: /open, /close, /orders, /stats, /export and /countdown.

`/open` and `/close` run the campaign's own open/close node for the leader's
group now, through the same exactly-once ledger as the schedule, so the
scheduled node later finds it done and posts nothing twice. Closing first
flips the group's state in a write transaction serialised with the order
writer (an order racing it is either committed before, and counted in the
results, or refused after), then renders results from the committed orders.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.campaign import Campaign, TimelineNode, parse_duration
from bot.campaign.timeline_rules import MAX_LEADER_SHIFT, readable_duration
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.selling.closing import NODE_RUNNERS, format_left, run_close, run_countdown
from handlers.selling.results import export_csv
from handlers.selling.service import selling
from handlers.selling.stock import reply_unknown_product
from handlers.selling.tables import REOPEN

if TYPE_CHECKING:
    from bot.campaign.runtime import CampaignRuntime

COUNTDOWN_JOB = "handlers.selling.leader:job_countdown"


# ------------------------------------------------------------------------------------ one group, now
def run_node_in_group(
    registry: CampaignRuntime, campaign_id: str, node: TimelineNode, group_id: str, *, detail: str = ""
) -> bool:
    """Run one node for one group now, exactly once (ledger) like the scheduler; False if it had run."""
    now = registry.services.clock.now()
    return registry.run_in_group(campaign_id, node, group_id, now=now, detail=detail) is not None


def campaign_for_command(ctx: Context, msg: GroupMessage) -> tuple[Campaign, str, list[str]] | None:
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
    registry = ctx.running_campaigns()
    found = campaign_for_command(ctx, msg) if registry is not None else None
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
    registry = ctx.running_campaigns()
    found = campaign_for_command(ctx, msg) if registry is not None else None
    if registry is None or found is None:
        return
    campaign, status, _ = found
    if status == "closed":
        ctx.reply(
            "sales/already.j2", action="close", status=status, title=campaign.title, priority=Priority.COMMAND
        )
        return
    kind = "reopen-close" if status == REOPEN else "close"  # /close in a 返场 ends the 返场 now
    node = next(n for n in registry.effective_nodes(campaign.id) if n.kind == kind)
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
    await ctx.services.settle()  # orders sent just before are committed first
    found = campaign_for_command(ctx, msg)
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


@command("export", "导出", role=Role.LEADER)
async def handle_export(msg: GroupMessage, ctx: Context) -> None:
    """/export [all] — 导出订单 CSV（按自提点分组，保存到 data/exports/，私聊告知团长）"""
    await ctx.services.settle()  # orders sent just before are committed first
    found = campaign_for_command(ctx, msg)
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
    found = campaign_for_command(ctx, msg)
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
    from schedules.jobs import countdown_job_id

    scheduler.at(
        COUNTDOWN_JOB,
        fire_at,
        args=[campaign.id, msg.group_id, seconds],
        id=countdown_job_id(campaign.id, msg.group_id, seconds),
        grace=60,
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

    post_countdown(runtime.current(Services), campaign_id, group_id, seconds)


__all__ = [
    "NODE_RUNNERS",
    "format_left",
    "handle_close",
    "handle_countdown",
    "handle_export",
    "handle_open",
    "handle_orders",
    "job_countdown",
    "post_countdown",
    "run_close",
    "run_countdown",
    "run_node_in_group",
]
