"""核销 in chat: a clerk sends a pickup code privately (`/pickup K7Q3`, or just `K7Q3`).

The bare code is recognised only from senders who are clerks (`ClerkBook`, in memory: the
matcher runs on the loop for every private message and never reads the database), so a
member who types four letters to the bot is not treated as a pickup. `/pickup` itself also
works for admins, who may check off a code of any point. Every answer is private: a code,
what a member bought and what they owe never reach a group. The member is told privately
that their goods were picked up.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.context import Context, Services
from bot.events import GroupMessage, PrivateMessage
from bot.handler import command, on_private
from bot.view import MessageView
from bot.vocab import Priority
from handlers.fulfilment.clerks import ClerkBook, clerk_book, is_clerk
from handlers.fulfilment.codes import normalise
from handlers.fulfilment.redeem import Checked, check_off


def match_bare_code(msg: PrivateMessage, view: Any) -> str | None:
    """A code on its own, privately, from a clerk: the code; None for anyone else (memory only)."""
    if not isinstance(view, MessageView):
        return None
    book = view.service(ClerkBook)
    if book is None or not book.is_clerk(view.sender_id):
        return None
    return normalise(view.text)


@on_private(match=match_bare_code, priority=Priority.COMMAND)
async def handle_bare_code(msg: PrivateMessage, ctx: Context) -> bool:
    """K7Q3 sent privately by a clerk: check the code off, like /pickup K7Q3."""
    await pick_up(ctx, str(ctx.intent))
    return True


@command("pickup", "核销", private=True, listed_for=is_clerk)
async def handle_pickup(msg: GroupMessage | PrivateMessage, ctx: Context) -> None:
    """/pickup 取货码 — 核销员私聊核销买家出示的4位取货码"""
    if isinstance(msg, GroupMessage):  # the code is out in the group now: say so, check nothing off
        ctx.send_private(msg.sender.id, "pickup/private_only.j2", priority=Priority.COMMAND)
        return
    code = normalise(ctx.args[0]) if len(ctx.args) == 1 else None
    if code is None:
        ctx.usage()
        return
    await pick_up(ctx, code)


def clerk_points(services: Services, member_id: str) -> set[str] | None:
    """The points a member checks off codes for; None means every point (an admin)."""
    if member_id in services.config.admins:
        return None
    return clerk_book(services).points_of(member_id)


async def pick_up(ctx: Context, code: str) -> None:
    """Check `code` off for the sender and answer them privately (the member is told too)."""
    sender = ctx.sender_id
    points = clerk_points(ctx.services, sender)
    if points is not None and not points:
        ctx.reply("pickup/not_clerk.j2", priority=Priority.COMMAND)
        return
    name = getattr(getattr(ctx.event, "sender", None), "name", "") or sender
    checked: Checked = await asyncio.to_thread(check_off, ctx.services, code, sender, name, points)
    title = checked.campaign.title if checked.campaign is not None else ""
    ctx.reply("pickup/checked.j2", code=code, checked=checked, title=title, priority=Priority.COMMAND)
    if checked.outcome == "ok" and checked.code is not None:
        ctx.send_private(
            checked.code.member_id,
            "pickup/picked.j2",
            title=title,
            point=checked.code.point,
            at=checked.code.picked_at,
            priority=Priority.ORDER,
        )


__all__ = ["clerk_points", "handle_bare_code", "handle_pickup", "match_bare_code", "pick_up"]
