"""我的等级 (members, answered privately) and `/tiers` (admins, by id).

我的等级 in a group or privately gets a private answer: the member's tier, what it gives, until
when, and how far the next tier is (spend or sales still needed). The tier shown is the one the
book applies to orders; the figures are read off the orders in a worker thread. Asked again
within `ASK_AGAIN`, it is not answered twice. Chatter never reaches these bodies: the matcher
decides from the view's normalised text, in memory.

`/tiers` shows the members per tier (from memory); `/tiers recompute` recomputes every member
with a purchase in the longest window, or a stored tier, in one transaction off the loop. It
tells no member (a changed config could promote hundreds at once; members see it in 我的等级).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from loguru import logger

from bot.ask_memory import AskMemory
from bot.context import Context, Services
from bot.events import Event, GroupMessage, PrivateMessage
from bot.handler import command, on_message, on_private
from bot.view import MessageView
from bot.vocab import Priority, Role
from handlers.tiers.book import TierBook
from handlers.tiers.rules import totals
from handlers.tiers.store import everyone, invites_of, purchases_of, recompute_in, window_start

MY_TIER_WORDS = frozenset({"我的等级", "会员等级", "我的会员", "查等级", "等级查询", "我的会员等级"})
LONGEST = 12
TIERS_PRIORITY = Priority.ORDER + 11
"""After orders and coupon keywords, next to 我的积分 (a campaign keyword 我的等级 wins)."""
RECOMPUTE_WORDS = {"recompute", "重算", "重新计算"}


def match_my_tier(event: Event, view: MessageView) -> bool | None:
    """我的等级 and its variants, while tiers are declared and on."""
    if not view.services.config.tiers.active or len(view.text) > LONGEST or view.core not in MY_TIER_WORDS:
        return None
    return True


def _my_tier(services: Services, book: TierBook, member_id: str, now: datetime) -> dict[str, Any]:
    """Template variables for `tiers/mine.j2` (a worker thread: one read of the member's orders)."""
    held = book.tier_of(member_id, now)
    upper = book.next_level(held)
    progress = None
    if upper is not None:
        since = window_start([upper], now)
        with services.repo.engine.connect() as conn:
            mine = purchases_of(conn, [member_id], since).get(member_id, [])
            invited = len(invites_of(conn, [member_id], since).get(member_id, [])) if upper.invites else 0
        have = totals(mine, upper.days, now)
        spend_needed = None if upper.spend_cents is None else max(0, upper.spend_cents - have.spend_cents)
        orders_needed = None if upper.orders is None else max(0, upper.orders - have.orders)
        invites_needed = None if upper.invites is None else max(0, upper.invites - invited)
        progress = {
            "have": have,
            "invited": invited,
            "spend_needed": spend_needed,
            "orders_needed": orders_needed,
            "invites_needed": invites_needed,
        }
    return {
        "held": held,
        "level": book.level(held),
        "upper": upper,
        "progress": progress,
        "base": services.config.tiers.base,
    }


async def _answer_my_tier(ctx: Context, member_id: str, name: str) -> None:
    services, now = ctx.services, ctx.clock.now()
    book = services.find(TierBook)
    if book is None or not services.get_or_make(AskMemory, AskMemory).may_answer(f"tier:{member_id}", now):
        return
    mine = await asyncio.to_thread(_my_tier, services, book, member_id, now)
    ctx.send_private(member_id, "tiers/mine.j2", priority=Priority.CHATTER, kind="tiers", name=name, **mine)


@on_message(priority=TIERS_PRIORITY, match=match_my_tier, words=MY_TIER_WORDS, longest=LONGEST)
async def handle_my_tier(msg: GroupMessage, ctx: Context) -> bool:
    """我的等级 in a group: the member's tier, its perks and the way to the next, privately."""
    await _answer_my_tier(ctx, msg.sender.id, msg.sender.name)
    return True


@on_private(priority=TIERS_PRIORITY, match=match_my_tier)
async def handle_my_tier_privately(msg: PrivateMessage, ctx: Context) -> bool:
    """我的等级 sent to the bot directly: the same answer."""
    await _answer_my_tier(ctx, msg.sender.id, msg.sender.name)
    return True


def recompute_everyone(services: Services, book: TierBook) -> dict[str, int]:
    """Recompute every member who could hold a tier, in one transaction; the book follows the commit."""
    settings, now = services.config.tiers, services.clock.now()
    with services.repo.engine.begin() as conn:
        members = everyone(conn, window_start(settings.levels, now))
        changes = recompute_in(conn, settings.levels, members, now)
    book.update({c.member_id: c.held for c in changes}, now)
    return {
        "members": len(changes),
        "promoted": sum(c.promoted for c in changes),
        "demoted": sum(c.demoted for c in changes),
    }


@command("tiers", "等级", role=Role.ADMIN, private=True)
async def handle_tiers(msg: GroupMessage, ctx: Context) -> None:
    """/tiers [recompute] — 各会员等级人数；recompute 按订单重算所有会员的等级（管理员，私聊回复）"""
    services = ctx.services
    book = services.find(TierBook)
    settings = ctx.config.tiers
    args = [a.lower() for a in ctx.args]
    if args and (len(args) > 1 or args[0] not in RECOMPUTE_WORDS):
        ctx.usage()
        return
    done: dict[str, int] | None = None
    if args and book is not None and settings.active:
        await services.settle()  # orders sent just before are committed first
        done = await asyncio.to_thread(recompute_everyone, services, book)
        logger.bind(admin=ctx.sender_id).info("tiers: recomputed by an admin: {}", done)
    ctx.send_private(
        ctx.sender_id,
        "tiers/admin.j2",
        priority=Priority.COMMAND,
        kind="tiers",
        active=book is not None and settings.active,
        counts=book.counts(ctx.clock.now()) if book is not None else {},
        base=settings.base,
        done=done,
    )


__all__ = [
    "MY_TIER_WORDS",
    "handle_my_tier",
    "handle_my_tier_privately",
    "handle_tiers",
    "match_my_tier",
    "recompute_everyone",
]
