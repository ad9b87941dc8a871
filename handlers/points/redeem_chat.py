"""积分抵扣 and 不用积分 in a group: opt in to (or out of) paying part of this campaign's bill with
points, answered privately with the balance, what would come off the member's orders now, and the
rule.

The campaign is the one the group's messages are about (selling's `pick`, from memory); the
matchers (`handlers.points.intents`) decide from the text alone, and the bodies write and read in
a worker thread, so chatter costs the event loop no statement. Sent privately to the bot, the
words get a pointer to the group (a member may be in several campaigns' groups). The same words
from the same member within `ASK_AGAIN` are answered once (switching on and off is answered each
time).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from bot.ask_memory import AskMemory
from bot.campaign import Campaign
from bot.context import Context, Services
from bot.events import GroupMessage, PrivateMessage
from bot.handler import on_message, on_private
from bot.vocab import Priority
from handlers.points.chat import POINTS_PRIORITY
from handlers.points.intents import (
    LONGEST,
    REDEEM_OFF_WORDS,
    REDEEM_ON_WORDS,
    match_redeem_off,
    match_redeem_on,
)
from handlers.points.ledger import points_of
from handlers.points.redeem import choose, max_cents, rule_of
from handlers.selling.discounts import wallet_of
from handlers.selling.pricing import extras_of
from handlers.selling.service import selling
from handlers.selling.settlement import member_quotes


def _answer(
    services: Services, campaign: Campaign, member_id: str, opted: bool, closed: bool
) -> dict[str, Any]:
    """Record the choice (not once the group closed) and gather the reply's variables (a worker
    thread: a write, a few reads)."""
    now = services.clock.now()
    rule = rule_of(services, campaign.id)
    choice = choose(services.repo.engine, member_id, campaign.id, None if closed else opted, now)
    orders = selling(services).store.orders(campaign.id, member_id=member_id)
    quotes = member_quotes(
        wallet_of(services), campaign.id, campaign.spend_tiers, orders, now, extras=extras_of(services)
    )
    found = quotes.get(member_id)
    return {
        "title": campaign.title,
        "closed": closed,
        "choice": asdict(choice),
        "balance": points_of(services).balance(member_id),
        "quote": found,
        "rule": {
            "rate": rule.rate,
            "max_cents": max_cents(rule),
            "max_share_pct": round(rule.max_share * 100),
        }
        if rule is not None
        else None,
    }


async def _redeem(msg: GroupMessage, ctx: Context, opted: bool) -> bool:
    picked = selling(ctx.services).pick(msg.group_id)
    if picked is None:
        return False
    campaign = picked[0]
    if rule_of(ctx.services, campaign.id) is None:
        if ctx.services.get_or_make(AskMemory, AskMemory).may_answer(
            f"redeem:{msg.sender.id}", ctx.clock.now()
        ):
            ctx.send_private(
                msg.sender.id,
                "points/redeem_none.j2",
                priority=Priority.CHATTER,
                name=msg.sender.name,
                title=campaign.title,
            )
        return True
    memory = ctx.services.get_or_make(AskMemory, AskMemory)
    if not memory.may_answer(f"redeem:{opted}:{msg.sender.id}", ctx.clock.now()):
        return True  # the same words again at once: recorded and answered a moment ago
    closed = picked[1] not in ("open", "scheduled")  # closed, or a 返场 after the close settled
    said = await asyncio.to_thread(_answer, ctx.services, campaign, msg.sender.id, opted, closed)
    ctx.send_private(
        msg.sender.id, "points/redeem.j2", priority=Priority.CHATTER, name=msg.sender.name, **said
    )
    return True


@on_message(priority=POINTS_PRIORITY, match=match_redeem_on, words=REDEEM_ON_WORDS, longest=LONGEST)
async def handle_redeem_on(msg: GroupMessage, ctx: Context) -> bool:
    """积分抵扣: use my points on this campaign's orders (privately: balance, what comes off, the rule)."""
    return await _redeem(msg, ctx, True)


@on_message(priority=POINTS_PRIORITY, match=match_redeem_off, words=REDEEM_OFF_WORDS, longest=LONGEST)
async def handle_redeem_off(msg: GroupMessage, ctx: Context) -> bool:
    """不用积分: keep my points for later (until the close)."""
    return await _redeem(msg, ctx, False)


def _point_to_group(msg: PrivateMessage, ctx: Context) -> bool:
    if ctx.services.get_or_make(AskMemory, AskMemory).may_answer(f"redeem:{msg.sender.id}", ctx.clock.now()):
        ctx.reply("points/redeem_in_group.j2", name=msg.sender.name)
    return True


@on_private(priority=POINTS_PRIORITY, match=match_redeem_on)
async def handle_redeem_on_privately(msg: PrivateMessage, ctx: Context) -> bool:
    """积分抵扣 sent to the bot directly: it is chosen per campaign, in its group."""
    return _point_to_group(msg, ctx)


@on_private(priority=POINTS_PRIORITY, match=match_redeem_off)
async def handle_redeem_off_privately(msg: PrivateMessage, ctx: Context) -> bool:
    """不用积分 sent to the bot directly: it is chosen per campaign, in its group."""
    return _point_to_group(msg, ctx)
