"""Members' side of after-sales: a complaint opens a ticket (in a group or privately), a digit rates it.

The complaint handlers run after the order handlers (an order with a remark is never taken
for a complaint) and before the FAQ. Their matchers (`handlers.aftersales.matcher`) decide
from memory; the body looks for the sender's orders in a worker thread and, when there are
none, returns False so the FAQ answers the words as a question.

In a group the complaint's content is never repeated: the member gets the acknowledgement
with the ticket number privately, and the group only a neutral "已私信处理" with an @ to the
member, so the others see complaints are looked after without seeing any of them.
"""

from __future__ import annotations

import asyncio

from bot.context import Context
from bot.events import GroupMessage, PrivateMessage
from bot.handler import on_message, on_private
from bot.vocab import Priority
from handlers.aftersales.matcher import (
    RATING_WINDOW,
    Complaint,
    Rating,
    match_complaint,
    match_private_complaint,
    match_rating,
    state_of,
)
from handlers.aftersales.opening import announce, handlers_of, open_or_add
from handlers.aftersales.store import TicketStore
from handlers.selling.parse import safe_name

COMPLAINT_PRIORITY = Priority.ORDER + 2
"""After orders (`handle_order` is ORDER + 1), before the FAQ (CHATTER)."""

RATING_PRIORITY = Priority.COMMAND + 1


async def _complain(ctx: Context, complaint: Complaint, member_id: str, name: str) -> bool:
    opened = await asyncio.to_thread(
        open_or_add, ctx.services, complaint, member_id, safe_name(name), ctx.clock.now()
    )
    if opened is None:
        return False  # no orders: a question, for the FAQ
    announce(ctx.services, opened)
    return True


@on_message(match=match_complaint, priority=COMPLAINT_PRIORITY)
async def handle_complaint(msg: GroupMessage, ctx: Context) -> bool:
    """A buyer's complaint in the group: a ticket, handled privately; the group hears no content."""
    complaint = ctx.intent
    if not isinstance(complaint, Complaint):
        return False
    if not await _complain(ctx, complaint, msg.sender.id, msg.sender.name):
        return False
    ctx.reply(
        "aftersales/group_ack.j2",
        mention=True,
        name=safe_name(msg.sender.name),
        priority=Priority.COMMAND,
        kind="aftersales",
    )
    return True


@on_private(match=match_private_complaint, priority=COMPLAINT_PRIORITY)
async def handle_private_complaint(msg: PrivateMessage, ctx: Context) -> bool:
    """A buyer's complaint to the bot privately: a ticket about their latest order."""
    complaint = ctx.intent
    if not isinstance(complaint, Complaint):
        return False
    return await _complain(ctx, complaint, msg.sender.id, msg.sender.name)


@on_private(match=match_rating, priority=RATING_PRIORITY)
async def handle_rating(msg: PrivateMessage, ctx: Context) -> bool:
    """A 1–5 rating of the member's latest resolved ticket, recorded once."""
    rating = ctx.intent
    if not isinstance(rating, Rating):
        return False
    now = ctx.clock.now()
    member_id = msg.sender.id
    store = TicketStore(ctx.repo.engine)
    rated, left = await asyncio.to_thread(store.rate, member_id, rating.score, now, now - RATING_WINDOW)
    if not left:
        state_of(ctx.services).awaiting.pop(member_id, None)
    if rated is None:
        return False  # rated meanwhile: the digit is just a digit
    ctx.reply("aftersales/rated.j2", t=rated, priority=Priority.COMMAND, kind="aftersales")
    if rated.rating is not None and rated.rating <= 2:
        group = ctx.repo.group_name(rated.group_id)
        for leader in handlers_of(ctx.services, rated.group_id):
            ctx.send_private(
                leader, "aftersales/low_rating.j2", t=rated, group=group, priority=Priority.ALERT
            )
    return True
