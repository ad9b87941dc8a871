"""签到 and 我的积分: both answered privately, never in the group.

A group of 500 where everyone checks in would otherwise carry 500 posts a morning; privately
each member sees their own points, balance and streak and the group sees nothing. Each costs
one private message from the bot's account (paced by the outbox like any other), so a member
who repeats 签到 the same day, or asks 我的积分 again within `ASK_AGAIN`, is not answered again.

Chatter never reaches these bodies: the matchers (`handlers.points.intents`) decide from memory.
The bodies read and write in a worker thread, so the event loop runs no statement.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from bot.ask_memory import AskMemory
from bot.context import Context, Services
from bot.events import GroupMessage, PrivateMessage
from bot.handler import on_message, on_private
from bot.vocab import Priority
from handlers.points.checkin import check_in, checkins_of
from handlers.points.intents import CHECKIN_WORDS, LONGEST, MY_POINTS_WORDS, match_checkin, match_my_points
from handlers.points.ledger import points_of

POINTS_PRIORITY = Priority.ORDER + 12
"""After orders and after coupon keywords (a campaign that makes 签到 a coupon keyword wins),
well before the FAQ."""


@on_message(priority=POINTS_PRIORITY, match=match_checkin, words=CHECKIN_WORDS, longest=LONGEST)
async def handle_checkin(msg: GroupMessage, ctx: Context) -> bool:
    """签到 / 打卡 in a group: today's points, privately (once a day, in any one group)."""
    done = await check_in(ctx.services, msg.sender.id, msg.group_id)
    if done is not None:
        template = "points/checkin.j2" if done.fresh else "points/checkin_already.j2"
        # After every order reply and sale post: a check-in's answer can wait its turn.
        ctx.send_private(
            msg.sender.id, template, priority=Priority.CHATTER, name=msg.sender.name, result=done
        )
    return True


@on_private(priority=POINTS_PRIORITY, match=match_checkin)
async def handle_checkin_privately(msg: PrivateMessage, ctx: Context) -> bool:
    """签到 sent to the bot directly: check-in happens in a group."""
    if ctx.services.get_or_make(AskMemory, AskMemory).may_answer(f"checkin:{msg.sender.id}", ctx.clock.now()):
        ctx.reply("points/checkin_in_group.j2", name=msg.sender.name)
    return True


async def _answer_my_points(ctx: Context, member_id: str, name: str) -> None:
    services = ctx.services
    now = ctx.clock.now()
    if not services.get_or_make(AskMemory, AskMemory).may_answer(f"points:{member_id}", now):
        return
    mine = await asyncio.to_thread(_my_points, services, member_id, now)
    # The check-in's answer waits at CHATTER; this one too, so a member who checks in and then asks
    # hears the two answers in the order they asked.
    ctx.send_private(
        member_id, "points/mine.j2", priority=Priority.CHATTER, name=name, titles=_titles(services), **mine
    )


def _my_points(services: Services, member_id: str, now: datetime) -> dict[str, Any]:
    """Template variables for `points/mine.j2` (a worker thread: three small reads)."""
    ledger = points_of(services)
    settings = services.config.points
    return {
        "balance": ledger.balance(member_id),
        "streak": checkins_of(services).streak(member_id, now),
        "entries": ledger.entries(member_id, settings.entries_shown),
        "checkin_points": settings.checkin,
    }


def _titles(services: Services) -> dict[str, str]:
    """Campaign titles by id, for the ledger lines that name a campaign (loaded campaigns only)."""
    return {cid: loaded.campaign.title for cid, loaded in services.campaigns.campaigns.items()}


@on_message(priority=POINTS_PRIORITY - 1, match=match_my_points, words=MY_POINTS_WORDS, longest=LONGEST)
async def handle_my_points(msg: GroupMessage, ctx: Context) -> bool:
    """我的积分 in a group: the balance, streak and latest entries, privately."""
    await _answer_my_points(ctx, msg.sender.id, msg.sender.name)
    return True


@on_private(priority=POINTS_PRIORITY - 1, match=match_my_points)
async def handle_my_points_privately(msg: PrivateMessage, ctx: Context) -> bool:
    """我的积分 sent to the bot directly: the same answer."""
    await _answer_my_points(ctx, msg.sender.id, msg.sender.name)
    return True
