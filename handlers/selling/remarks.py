"""Order remarks (备注) on their own: `备注 放门口`, `备注：3栋502`, in the group or privately.

A remark typed with the order (`A1 2 备注 3栋502`) goes with it through the order writer
(`handlers.selling.batch`); this module takes a remark sent after the order. In a group it
is for the campaign the group's messages are about (`Selling.pick`); privately, for the
campaign of the member's most recent active order. The latest remark replaces the previous
one, and only a member who has ordered can leave one.

Why the answers are private: a remark is where members put a room number or a phone
number, so the bot never repeats it in a group, and it posts nothing in the group for a
remark at all (the member's message is already there). The member hears back privately:
the remark as stored, or a hint to order first. The handler runs before the FAQ
(`Priority.ORDER`), so a remark is never also answered as a question about remarks; a real
question (`备注怎么写？`) is left to the FAQ.
"""

from __future__ import annotations

import asyncio

from bot.context import Context
from bot.events import GroupMessage, PrivateMessage
from bot.handler import on_message, on_private
from bot.vocab import Priority
from handlers.selling.parse import is_remark_question, split_remark
from handlers.selling.remark_rows import clean_remark
from handlers.selling.service import Selling, selling

REMARK_PATTERN = r"^\s*[(（\[【]?\s*备注"


@on_message(REMARK_PATTERN, priority=Priority.ORDER)
async def handle_remark(msg: GroupMessage, ctx: Context) -> bool:
    """备注 放门口: a remark on one's orders of this group's campaign; answered privately only."""
    text = _remark_of(msg.text)
    if text is None:
        return False
    sell = selling(ctx.services)
    picked = sell.pick(msg.group_id)
    if picked is None:
        return False
    campaign = picked[0]
    if not text:
        ctx.send_private(msg.sender.id, "orders/remark_usage.j2", priority=Priority.ORDER)
        return True
    await sell.caught_up()  # an order sent just before is committed first
    stored = await asyncio.to_thread(sell.store.set_remark, campaign.id, msg.sender.id, text, ctx.clock.now())
    _acknowledge(ctx, msg.sender.id, campaign.title if stored else "", text)
    return True


@on_private(REMARK_PATTERN, priority=Priority.ORDER)
async def handle_remark_private(msg: PrivateMessage, ctx: Context) -> bool:
    """备注 3栋502 in a private chat: a remark on the campaign of one's most recent order."""
    text = _remark_of(msg.text)
    if text is None:
        return False
    sell = selling(ctx.services)
    if sell.registry is None:
        return False
    if not text:
        ctx.reply("orders/remark_usage.j2", priority=Priority.ORDER)
        return True
    await sell.caught_up()
    title = await asyncio.to_thread(_store_private, sell, msg.sender.id, text, ctx)
    _acknowledge(ctx, msg.sender.id, title, text)
    return True


def _remark_of(text: str) -> str | None:
    """The remark of a message that starts with 备注 ("" when empty); None for a question."""
    order, remark = split_remark(text)
    if remark is None or order or is_remark_question(remark):
        return None
    return clean_remark(remark)


def _store_private(sell: Selling, member_id: str, text: str, ctx: Context) -> str:
    """Store the remark on the member's latest campaign with orders (worker thread); its title, or
    "" when the member has no active order in a loaded campaign."""
    registry = sell.registry
    if registry is None:
        return ""
    latest = sell.store.latest_order(member_id, sorted(registry.campaigns))
    campaign = sell.campaign(latest[0]) if latest else None
    if campaign is None or not sell.store.set_remark(campaign.id, member_id, text, ctx.clock.now()):
        return ""
    return campaign.title


def _acknowledge(ctx: Context, member_id: str, title: str, text: str) -> None:
    """Privately: the remark as stored, or (no `title`: no order) a hint to order first."""
    if title:
        ctx.send_private(
            member_id, "orders/remark_saved.j2", title=title, remark=text, priority=Priority.ORDER
        )
    else:
        ctx.send_private(member_id, "orders/remark_no_order.j2", priority=Priority.ORDER)


__all__ = ["REMARK_PATTERN", "handle_remark", "handle_remark_private"]
