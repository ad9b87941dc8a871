"""What `/lottery start|draw|status|cancel` do: check the request, then one store transaction.

The database work runs in a worker thread (the draw reads the pool, writes the list, pays the
winners and queues every post in one transaction); the posts enter the send queue on the loop
once it has committed. The seed and the commitment are published to the group filter before
any post carrying them is queued, so the masker, which stars out long digit runs as phone or
card numbers, leaves these hex strings exactly as drawn (and again at start-up, for posts
still queued across a restart: `republish`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from loguru import logger
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.campaign.active import ActiveCampaign, campaigns_in_group
from bot.campaign.models import Campaign
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.outbox import Draft
from bot.vocab import Priority
from handlers.coupons.chat import spec_for
from handlers.coupons.store import CouponSpec
from handlers.lottery.pool import BUYERS, CHECKINS, Entrant, PoolRule
from handlers.lottery.posts import Words
from handlers.lottery.prizes import Prize, coupon_of, parse_prize, pay_in
from handlers.lottery.store import Lottery, LotteryStore, NotEnough, Terms
from handlers.lottery.tables import DRAWN, OPEN
from handlers.points.ledger import PointsLedger
from handlers.selling.service import selling

MAX_WINNERS = 100
REPUBLISH_DAYS = 3
COUPON_SOURCE = "lottery"


def store_of(services: Services) -> LotteryStore:
    return LotteryStore(services.repo.engine)


def _enqueue(services: Services) -> Callable[[Connection, list[Draft]], Callable[[], None]]:
    return lambda conn, drafts: services.outbox.enqueue_in(conn, drafts)[1]


def publish(services: Services, lottery: Lottery) -> None:
    """Keep this lottery's seed and commitment readable in group posts (see the module doc)."""
    services.outbox.group_filter.publish(f"lottery:{lottery.id}", [lottery.commitment, lottery.seed])


def republish(services: Services) -> None:
    """Start-up: publish the lotteries whose posts may still wait in the restored outbox.

    A nicety must not keep the bot from starting: a database that cannot answer is logged.
    """
    since = services.clock.now() - timedelta(days=REPUBLISH_DAYS)
    try:
        recent = store_of(services).recent(since)
    except SQLAlchemyError as exc:
        logger.error(
            "lottery: could not read recent lotteries at start ({}); queued draw posts may be masked", exc
        )
        return
    for lottery in recent:
        publish(services, lottery)


def _active(services: Services, campaign_id: str, group_id: str) -> ActiveCampaign | None:
    return next((a for a in campaigns_in_group(services, group_id) if a.campaign.id == campaign_id), None)


def _rule(
    pool: str, campaign_id: str, group_id: str, active: ActiveCampaign | None, fallback: datetime
) -> PoolRule:
    return PoolRule(pool, campaign_id, group_id, active.starts_at if active is not None else fallback)


def _coupon_spec(
    campaign: Campaign, prize: Prize, active: ActiveCampaign | None, now: datetime, ref: str
) -> CouponSpec | None:
    """The prize coupon's terms if issued now, or None when it could no longer be redeemed."""
    coupon = coupon_of(campaign, prize.coupon_id)
    if coupon is None or active is None:
        return None
    spec = replace(spec_for(active, coupon, now, COUPON_SOURCE), quota=None, source_ref=ref)
    return spec if spec.valid_until is None or spec.valid_until > now else None


def _words(services: Services, campaign_id: str, group_id: str) -> Words:
    campaign = selling(services).campaign(campaign_id)
    return Words(services, campaign, campaign_id, services.repo.group_name(group_id))


async def _settled(services: Services) -> None:
    """Orders sent just before are committed, and who said what (names) is written."""
    await services.settle()
    await asyncio.to_thread(services.flush_inbound)


# ------------------------------------------------------------------------------------ start
async def start_lottery(
    msg: GroupMessage,
    ctx: Context,
    campaign: Campaign,
    status: str,
    *,
    winners: int,
    prize_text: str,
    pool: str,
) -> None:
    services, group_id = ctx.services, msg.group_id
    prize = parse_prize(prize_text, campaign)
    if prize is None:
        coupon_ids = [c.id for c in campaign.coupons]
        ctx.reply("lottery/bad_prize.j2", prize=prize_text, coupon_ids=coupon_ids, priority=Priority.COMMAND)
        return
    settings = services.config.points
    has_points = services.find(PointsLedger) is not None and settings.enabled
    if prize.is_points and not has_points:
        ctx.reply("lottery/no_points.j2", priority=Priority.COMMAND)
        return
    now = ctx.clock.now()
    active = _active(services, campaign.id, group_id)
    if not prize.is_points and (status == "closed" or _coupon_spec(campaign, prize, active, now, "") is None):
        ctx.reply("lottery/coupon_lapsed.j2", title=campaign.title, priority=Priority.COMMAND)
        return
    fell_back = pool == CHECKINS and not (has_points and settings.checkin > 0)  # nobody can check in
    pool = BUYERS if fell_back else pool
    await _settled(services)
    store = store_of(services)
    rule = _rule(pool, campaign.id, group_id, active, now)
    pool_now = await asyncio.to_thread(store.pool_size, rule)
    terms = Terms(campaign.id, group_id, msg.sender.id, winners, pool, prize.coupon_id, prize.points)
    words = Words(services, campaign, campaign.id, services.repo.group_name(group_id))
    closes_at = active.closes_at if active is not None else selling(services).times(campaign)[1]

    def posts(lottery: Lottery) -> list[Draft]:
        publish(services, lottery)
        return words.started(lottery, pool_now=pool_now, fell_back=fell_back, closes_at=closes_at)

    started = await asyncio.to_thread(store.start, terms, now, posts, _enqueue(services))
    if started is None:
        open_one = await asyncio.to_thread(store.latest, group_id)
        ctx.reply("lottery/already_open.j2", lottery=open_one, priority=Priority.COMMAND)
        return
    lottery, admit = started
    admit()
    logger.bind(group_id=group_id, lottery_id=lottery.id, member_id=msg.sender.id).info(
        "lottery: started ({} winner(s), pool {}, prize {}), commitment {}",
        winners,
        pool,
        prize.coupon_id or f"{prize.points} points",
        lottery.commitment,
    )


# ------------------------------------------------------------------------------------ draw
async def draw_lottery(msg: GroupMessage, ctx: Context) -> None:
    services, group_id = ctx.services, msg.group_id
    await _settled(services)
    store = store_of(services)
    lottery = await asyncio.to_thread(store.latest, group_id)
    if lottery is None or lottery.status != OPEN:
        await _reply_status(ctx, lottery)
        return
    campaign = selling(services).campaign(lottery.campaign_id)
    if campaign is None:
        ctx.reply("lottery/campaign_gone.j2", campaign_id=lottery.campaign_id, priority=Priority.COMMAND)
        return
    now = ctx.clock.now()
    active = _active(services, campaign.id, group_id)
    prize = Prize(coupon_id=lottery.prize_coupon_id, points=lottery.prize_points)
    spec: CouponSpec | None = None
    if not prize.is_points:
        spec = _coupon_spec(campaign, prize, active, now, f"lottery:{lottery.id}")
        if spec is None or selling(services).status(campaign.id, group_id) == "closed":
            ctx.reply(
                "lottery/coupon_lapsed.j2", title=campaign.title, lottery=lottery, priority=Priority.COMMAND
            )
            return
    rule = _rule(lottery.pool, campaign.id, group_id, active, lottery.started_at)
    words = Words(services, campaign, campaign.id, services.repo.group_name(group_id))
    publish(services, lottery)

    def pay(conn: Connection, drawing: Lottery, entrant: Entrant) -> str:
        return pay_in(
            conn,
            services,
            prize,
            spec,
            lottery_id=drawing.id,
            campaign_id=drawing.campaign_id,
            group_id=drawing.group_id,
            member_id=entrant.member_id,
            now=now,
        )

    try:
        done = await asyncio.to_thread(
            store.draw, lottery.id, rule, now, pay, words.drawn, _enqueue(services)
        )
    except NotEnough as short:
        ctx.reply(
            "lottery/not_enough.j2", entrants=short.entrants, lottery=lottery, priority=Priority.COMMAND
        )
        return
    if done is None:  # drawn or cancelled a moment ago by another command
        await _reply_status(ctx, await asyncio.to_thread(store.get, lottery.id))
        return
    drawn, admit = done
    admit()
    logger.bind(group_id=group_id, lottery_id=lottery.id, member_id=msg.sender.id).info(
        "lottery: drawn among {}, winners {}, seed {}",
        len(drawn.entrants),
        [w.number for w in drawn.winners],
        lottery.seed,
    )


# ------------------------------------------------------------------------------------ status, cancel
async def lottery_status(msg: GroupMessage, ctx: Context) -> None:
    await _settled(ctx.services)
    lottery = await asyncio.to_thread(store_of(ctx.services).latest, msg.group_id)
    await _reply_status(ctx, lottery)


async def _reply_status(ctx: Context, lottery: Lottery | None) -> None:
    """The group's lottery as it stands: open (with the pool now), drawn (seed, winners), cancelled."""
    if lottery is None:
        ctx.reply("lottery/none.j2", priority=Priority.COMMAND)
        return
    services = ctx.services
    store = store_of(services)
    if lottery.status == OPEN:
        active = _active(services, lottery.campaign_id, lottery.group_id)
        rule = _rule(lottery.pool, lottery.campaign_id, lottery.group_id, active, lottery.started_at)
        pool_now = await asyncio.to_thread(store.pool_size, rule)
        winners: list[tuple[int, str]] = []
    else:
        pool_now = lottery.entrants
        found = await asyncio.to_thread(store.winners_of, lottery.id) if lottery.status == DRAWN else []
        winners = [(number, name) for number, _member, name in found]
    publish(services, lottery)
    about = _words(services, lottery.campaign_id, lottery.group_id).about(lottery)
    ctx.reply("lottery/status.j2", pool_now=pool_now, winners=winners, priority=Priority.COMMAND, **about)


async def cancel_lottery(msg: GroupMessage, ctx: Context) -> None:
    services, group_id = ctx.services, msg.group_id
    store = store_of(services)
    lottery = await asyncio.to_thread(store.latest, group_id)
    if lottery is None or lottery.status != OPEN:
        ctx.reply("lottery/none.j2", priority=Priority.COMMAND)
        return
    words = _words(services, lottery.campaign_id, group_id)
    publish(services, lottery)
    now = ctx.clock.now()
    admit = await asyncio.to_thread(store.cancel, lottery.id, now, words.cancelled, _enqueue(services))
    if admit is None:
        await _reply_status(ctx, await asyncio.to_thread(store.get, lottery.id))
        return
    admit()
    logger.bind(group_id=group_id, lottery_id=lottery.id, member_id=msg.sender.id).info(
        "lottery: cancelled before the draw, seed {}", lottery.seed
    )


__all__ = ["MAX_WINNERS", "cancel_lottery", "draw_lottery", "lottery_status", "republish", "start_lottery"]
