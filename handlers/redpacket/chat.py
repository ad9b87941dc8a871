"""Red-packet rain (红包雨): bursts at the campaign's offsets or on `/redpacket N 金额`, grabbed by keyword.

The first N distinct members to send the keyword inside the window win; the
budget is split with the double-mean method when the burst starts (see
`handlers.redpacket.split`), shares are handed out in grab order, and each win is
paid as coupon credit (the bot never moves money). Results — every winner and
the best luck (手气最佳) — are posted when the last packet goes or the window
ends (a one-off APScheduler job, `handlers.redpacket.jobs`); a burst nobody
grabbed ends silently. A grab after the end gets one combined, polite "too
late". A grab counts in a group only once the burst's announcement has been sent
there (`handlers.redpacket.gate`). `/redpacket log` shows the split, winners,
ids and codes of recent bursts for audit, privately to the leader who asks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from loguru import logger
from sqlalchemy.engine import Connection

from bot.campaign import parse_duration
from bot.campaign.active import active_campaigns
from bot.campaign.nodes import NodeRun, run_redpacket
from bot.combine import add_to_post
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import command, on_message
from bot.outbox import Draft
from bot.text import core
from bot.vocab import Priority, Role
from handlers.redpacket.gate import after_commit, announce_key, announced
from handlers.redpacket.keywords import LiveBurst
from handlers.redpacket.lookup import burst_for, burst_for_grab, grab, match_grab
from handlers.redpacket.memory import memory_of
from handlers.redpacket.service import RedPacketStore, Winner
from handlers.redpacket.split import split_budget
from schedules.jobs import Grace, redpacket_close_job_id

GRAB_PRIORITY = Priority.COMMAND + 5
"""Before chain orders: while a burst is open, its keyword is a grab, nothing else."""

JOB_FUNC = "handlers.redpacket.jobs:job_close_redpacket"

DEFAULT_KEYWORD = "抢"
DEFAULT_WINDOW = timedelta(seconds=60)
MAX_WINDOW = timedelta(minutes=10)
MAX_PACKETS = 200
MAX_BUDGET_CENTS = 2000_00
MANUAL_CREDIT_DAYS = 7
LOG_BURSTS = 3


def store_of(services: Services) -> RedPacketStore:
    return RedPacketStore(services.repo.engine)


close_job_id = redpacket_close_job_id


@dataclass(frozen=True)
class LateGrab:
    member_id: str
    name: str


# -- starting and closing ------------------------------------------------------------
def start_burst(
    services: Services,
    conn: Connection,
    *,
    burst_id: str,
    group_id: str,
    campaign_id: str,
    node_id: str,
    keyword: str,
    packets: int,
    budget_cents: int,
    window: timedelta,
    now: datetime,
    credit_until: datetime | None,
    started_by: str,
) -> bool:
    """Draw the split, store the burst in the caller's transaction, schedule its end; False if it exists."""
    rng = memory_of(services).rng
    shares = split_budget(budget_cents, min(packets, budget_cents), rng)
    created = RedPacketStore.create(
        conn,
        burst_id=burst_id,
        group_id=group_id,
        campaign_id=campaign_id,
        node_id=node_id,
        keyword=keyword,
        shares=shares,
        opened_at=now,
        closes_at=now + window,
        credit_until=credit_until,
        started_by=started_by,
    )
    if created:
        # Remembered before the commit, so before the announcement can leave: a grab that
        # follows it is matched. Were the transaction rolled back, the body finds no burst.
        live = LiveBurst.of(
            id=burst_id, group_id=group_id, keyword=keyword, opened_at=now, closes_at=now + window
        )
        memory_of(services).bursts.remember(live, now)
        after_commit(schedule_close, services, burst_id, now + window)
    return created


def schedule_close(services: Services, burst_id: str, closes_at: datetime) -> None:
    """A one-off job that ends the burst; without a scheduler the next grab ends it instead."""
    scheduler = services.campaigns.scheduler
    if scheduler is None:
        return
    scheduler.at(
        JOB_FUNC,
        closes_at,
        args=[burst_id],
        id=close_job_id(burst_id),
        name=f"red packets {burst_id} close",
        grace=Grace.UNBOUNDED,  # results posted late are still right; never drop them
    )


def close_burst(services: Services, burst_id: str) -> bool:
    """End a burst and post its results, once; False if it had already ended (or does not exist)."""
    now = services.clock.now()
    if not store_of(services).close(burst_id, now):
        return False
    memory_of(services).bursts.closed(burst_id, now)
    post_results(services, burst_id)
    return True


def best_luck(winners: list[Winner]) -> Winner | None:
    """The largest share; on a tie, whoever grabbed first."""
    return max(winners, key=lambda w: (w.amount_cents, -w.seq), default=None)


def post_results(services: Services, burst_id: str) -> None:
    store = store_of(services)
    burst = store.get(burst_id)
    if burst is None:
        return
    winners = store.winners(burst_id)
    if not winners:
        # Nothing to announce; a quiet group is not nagged (the burst stays in /redpacket log).
        logger.bind(burst=burst_id, group=burst.group_id).info("red packets closed with no grabs")
        return
    won = sum(w.amount_cents for w in winners)
    text = services.renderer.render(
        "redpacket/results.j2",
        bot_name=services.config.bot.name,
        burst=burst,
        winners=winners,
        best=best_luck(winners),
        won_cents=won,
        unclaimed=burst.packets - len(winners),
        unclaimed_cents=burst.budget_cents - won,
    )
    services.outbox.enqueue(text, group_id=burst.group_id, priority=Priority.CAMPAIGN, kind="redpacket")
    logger.bind(burst=burst_id, group=burst.group_id).info(
        "red packets closed: {} of {} taken, {} fen paid as coupon credit", len(winners), burst.packets, won
    )


# -- timeline node ---------------------------------------------------------------------
def node_burst_id(run: NodeRun) -> str:
    return f"{run.campaign.id}:{run.node.node_id}:{run.group_id}"


def start_from_node(run: NodeRun, conn: Connection) -> None:
    """Redpacket node hook: start the burst in this group, in the node's own transaction (exactly once)."""
    params = run.node.params
    start_burst(
        run.services,
        conn,
        burst_id=node_burst_id(run),
        group_id=run.group_id,
        campaign_id=run.campaign.id,
        node_id=run.node.node_id,
        keyword=str(params.get("keyword") or DEFAULT_KEYWORD),
        packets=int(params.get("packets", 1)),  # type: ignore[call-overload]
        budget_cents=int(params.get("budget_cents", 1)),  # type: ignore[call-overload]
        window=timedelta(seconds=int(params.get("window_seconds", 60))),  # type: ignore[call-overload]
        now=run.now,
        credit_until=run.closes_at,
        started_by="campaign",
    )


def announce_from_node(run: NodeRun) -> list[Draft]:
    """Redpacket node posts: the timeline's own announcement, tagged so grabs can wait for it."""
    key = announce_key(node_burst_id(run))
    return [replace(d, replace_key=d.replace_key or key) for d in run_redpacket(run)]


NODE_HOOKS = {"redpacket": start_from_node}
NODE_RUNNERS = {"redpacket": announce_from_node}


# -- grabbing ------------------------------------------------------------------------------
@on_message(priority=GRAB_PRIORITY, match=match_grab)
async def handle_grab(msg: GroupMessage, ctx: Context) -> bool:
    """The burst keyword during (or just after) a burst: try to take a packet.

    Runs only on `match_grab`'s intent (a live burst's keyword, known from memory): chatter
    costs no body. The group's stored bursts are read here, in a worker thread, for the exact rule.
    """
    said = ctx.intent.said
    now = ctx.clock.now()
    burst = await burst_for_grab(ctx.services, msg.group_id, said, now)
    if burst is None:
        return False
    if burst.status == "open" and not announced(ctx.services, burst):
        logger.bind(burst=burst.id, group=msg.group_id).debug("grab before the announcement left: ignored")
        return True
    if burst.status == "open" and now >= burst.closes_at:
        close_burst(ctx.services, burst.id)  # its job has not run (yet): end it here
    result = await grab(ctx.services, burst, msg.sender.id, msg.sender.name, now)  # in a worker thread
    if result.status == "won":
        if result.closed_now:
            post_results(ctx.services, burst.id)
    elif result.status == "already":
        told = memory_of(ctx.services).already_told
        if (burst.id, msg.sender.id) not in told:
            told[(burst.id, msg.sender.id)] = True
            ctx.reply(
                "redpacket/already.j2",
                mention=True,
                name=msg.sender.name,
                replace_key=f"rp-already:{burst.id}:{msg.sender.id}",
            )
    else:

        def render(items: list[LateGrab]) -> str:
            return ctx.render(
                "redpacket/too_late.j2",
                names=[i.name for i in items[:20]],
                more=max(0, len(items) - 20),
                gone=result.status == "gone",
            )

        add_to_post(
            ctx.services,
            msg.group_id,
            f"rp-late:{burst.id}",
            LateGrab(msg.sender.id, msg.sender.name),
            render,
            priority=Priority.DEFAULT,
            kind="redpacket",
        )
    return True


# -- leader command ------------------------------------------------------------------------
def _budget_cents(text: str) -> int | None:
    try:
        value = Decimal(text.strip().lstrip("¥￥").rstrip("元"))
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        return None
    return int(value * 100)


@command("redpacket", "红包", role=Role.LEADER)
async def handle_redpacket(msg: GroupMessage, ctx: Context) -> None:
    """/redpacket 个数 金额 [口令] [时长] 发起红包雨，/redpacket log 查看记录（团长）"""
    args = ctx.args
    if args and args[0].lower() == "log":
        _reply_log(msg, ctx)
        return
    if len(args) < 2 or not args[0].isdigit():
        ctx.usage()
        return
    packets, budget = int(args[0]), _budget_cents(args[1])
    keyword = args[2] if len(args) > 2 else DEFAULT_KEYWORD
    try:
        window = parse_duration(args[3]) if len(args) > 3 else DEFAULT_WINDOW
    except ValueError:
        ctx.usage()
        return
    if budget is None or not 1 <= packets <= MAX_PACKETS or window <= timedelta(0) or not core(keyword):
        ctx.usage()
        return
    if budget < packets or budget > MAX_BUDGET_CENTS:
        ctx.reply(
            "redpacket/bad_budget.j2",
            packets=packets,
            budget_cents=budget,
            max_cents=MAX_BUDGET_CENTS,
            priority=Priority.COMMAND,
        )
        return
    now = ctx.clock.now()
    window = min(window, MAX_WINDOW)
    running = burst_for(ctx.services, msg.group_id, core(keyword), now)
    if running is not None and running.status == "open" and now < running.closes_at:
        ctx.reply("redpacket/busy.j2", burst=running, priority=Priority.COMMAND)
        return
    live = active_campaigns(ctx.services, msg.group_id, now)
    campaign_id = live[0].campaign.id if live else ""
    credit_until = live[0].closes_at if live else now + timedelta(days=MANUAL_CREDIT_DAYS)
    burst_id = f"manual:{msg.group_id}:{msg.message_id}"
    with ctx.repo.engine.begin() as conn:
        start_burst(
            ctx.services,
            conn,
            burst_id=burst_id,
            group_id=msg.group_id,
            campaign_id=campaign_id,
            node_id="",
            keyword=keyword,
            packets=packets,
            budget_cents=budget,
            window=window,
            now=now,
            credit_until=credit_until,
            started_by=msg.sender.id,
        )
    ctx.reply(
        "redpacket/announce.j2",
        replace_key=announce_key(burst_id),
        packets=packets,
        budget_cents=budget,
        keyword=keyword,
        window_seconds=int(window.total_seconds()),
        priority=Priority.CAMPAIGN,
    )


def _reply_log(msg: GroupMessage, ctx: Context) -> None:
    store = store_of(ctx.services)
    bursts = store.recent(msg.group_id, limit=LOG_BURSTS)
    entries = [(b, winners, best_luck(winners)) for b in bursts for winners in [store.winners(b.id)]]
    # Member ids and coupon codes: privately to the leader who asked, never the group.
    ctx.send_private(
        msg.sender.id,
        "redpacket/log.j2",
        group_name=ctx.repo.group_name(msg.group_id),
        entries=entries,
        priority=Priority.COMMAND,
    )
