"""Chain orders (接龙) in the group: order, cancel, my orders, pickup point.

Members order in plain chat while a campaign is open in their group (forms in
`handlers.selling.parse` and docs/ordering.md). An order is handed to the single
writer and the handler returns at once: the next message is read while the
order commits, and the order is acknowledged (its reply queued) only from the
batch's after-commit callback (`handlers.selling.service`). One member's order
and a following 取消 go through the same queue, so they apply in order. Nothing
is answered one message per order: accepted orders show up in the numbered 接龙
list (`handlers.selling.chain`), and refusals, partial fills and confirmations
are gathered into one notice per `NOTICE_WINDOW` per group that @-mentions
everyone concerned. A burst of hundreds of orders therefore costs a handful of
posts, which keeps the account far from WeChat's rate limits.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from bot.campaign import Campaign
from bot.context import Context
from bot.events import GroupMessage, PrivateMessage
from bot.handler import on_message, on_private
from bot.vocab import Priority
from handlers.selling.extras import OrderExtras
from handlers.selling.intents import OrderIntent, match_order, order_intent
from handlers.selling.notices import Notice
from handlers.selling.ops import CancelOrders, PlaceOrder
from handlers.selling.order_terms import order_terms
from handlers.selling.parse import is_my_orders, normalize, parse_cancel, safe_name
from handlers.selling.pricing import Quote
from handlers.selling.service import Selling, selling


# ------------------------------------------------------------------------------------ handlers
@on_message(r"^\s*(?:取消|全部取消)", priority=Priority.ORDER)
async def handle_cancel(msg: GroupMessage, ctx: Context) -> bool:
    """取消 A1 / 取消全部: cancel one's own orders in this group until close; stock is returned."""
    sell = selling(ctx.services)
    picked = sell.pick(msg.group_id)
    if picked is None:
        return False
    campaign, status = picked
    intent = parse_cancel(msg.text, sell.catalog(campaign))
    if intent is None:
        return False
    name = safe_name(msg.sender.name)
    if intent.unknown:
        sell.notice(msg.group_id, "unknown", msg.sender.id, name, refs=intent.unknown)
        return True
    if status == "scheduled" and order_terms(sell, campaign, status, msg.sender.id, ctx.clock.now()) is None:
        sell.notice(msg.group_id, "nothing_to_cancel", msg.sender.id, name)  # early access may cancel
        return True
    sell.writer.enqueue(
        CancelOrders(campaign.id, msg.group_id, msg.sender.id, intent.product_code, msg.time, msg.sender.name)
    )
    return True


@on_message(r"^\s*(?:我的订单|查订单|查询订单|订单查询|我的接龙|我买了什么)", priority=Priority.ORDER)
async def handle_my_orders(msg: GroupMessage, ctx: Context) -> bool:
    """我的订单: a short group reply with one's own orders, discounts and what to pay."""
    if not is_my_orders(msg.text):
        return False
    sell = selling(ctx.services)
    picked = sell.pick(msg.group_id)
    if picked is None:
        return False
    campaign = picked[0]
    await sell.caught_up()  # one's own orders sent just before are in the answer
    mine = await asyncio.to_thread(_my_orders, sell, campaign, msg.sender.id, False)
    ctx.reply(
        "orders/my_orders.j2",
        name=safe_name(msg.sender.name),
        title=campaign.title,
        lines=mine.lines,
        quote=mine.quote,
        closed=picked[1] == "closed",
        pickup=mine.pickup,
        extra=mine.extra,
        mention=True,
        priority=Priority.ORDER,
    )
    return True


@dataclass(frozen=True)
class MyOrders:
    """What 我的订单 shows for one campaign; `remark` is filled only for the private answer."""

    quote: Quote
    lines: list[tuple[str, str, int]]
    pickup: str
    extra: list[str]
    remark: str = ""


def _my_orders(sell: Selling, campaign: Campaign, member_id: str, private: bool) -> MyOrders:
    """A member's priced orders, pickup point and other features' lines (`OrderExtras`): reads,
    run in a worker thread off the loop. The remark (it may hold an address) only in private."""
    member_quote, lines = sell.member_quote(campaign, member_id)
    if not lines:  # "你还没有接龙哦": no pickup point or extra line is shown
        return MyOrders(member_quote, lines, "", [])
    pickup = sell.store.pickup_of(campaign.id, member_id)
    extras = sell.services.get_or_make(OrderExtras, OrderExtras)
    remark = sell.store.remark(campaign.id, member_id) if private else ""
    return MyOrders(member_quote, lines, pickup, extras.lines(campaign, member_id, private), remark)


@on_private(r"^\s*(?:我的订单|查订单|查询订单|订单查询|我的接龙|我买了什么)", priority=Priority.ORDER)
async def handle_my_orders_private(msg: PrivateMessage, ctx: Context) -> bool:
    """我的订单 in a private chat: every campaign the member has orders in."""
    sell = selling(ctx.services)
    registry = sell.registry
    if registry is None:
        return False
    found = False
    await sell.caught_up()
    for loaded in registry.campaigns.values():
        mine = await asyncio.to_thread(_my_orders, sell, loaded.campaign, msg.sender.id, True)
        if mine.lines:
            found = True
            ctx.reply(
                "orders/my_orders.j2",
                name=safe_name(msg.sender.name),
                title=loaded.campaign.title,
                lines=mine.lines,
                quote=mine.quote,
                pickup=mine.pickup,
                extra=mine.extra,
                remark=mine.remark,
                priority=Priority.ORDER,
            )
    if not found:
        ctx.reply(
            "orders/my_orders.j2",
            name=safe_name(msg.sender.name),
            title="",
            lines=[],
            quote=None,
            pickup="",
            priority=Priority.ORDER,
        )
    return True


# 自提 after which a question (自提点在哪里？) is the FAQ's, not a choice of point.
ASKING = re.compile(r"[?？吗呢哪几啥怎]|什么|多少|时间|地址|位置|电话|营业|开门|关门|取货|送货")
MAX_POINT_WORDS = 12  # longer than a point's name: a sentence about pickup, not a choice


@on_message(r"^\s*自提点?\s*[:：]?\s*\S", priority=Priority.ORDER)
async def handle_pickup(msg: GroupMessage, ctx: Context) -> bool:
    """自提 东门: choose a pickup point (only a name from the campaign file is taken; nothing is echoed)."""
    sell = selling(ctx.services)
    picked = sell.pick(msg.group_id)
    if picked is None:
        return False
    campaign = picked[0]
    wanted = normalize(msg.text).removeprefix("自提点").removeprefix("自提").strip(" :")
    matches = [p for p in campaign.pickup_points if wanted and wanted in normalize(p.name)]
    if len(matches) != 1:
        if not campaign.pickup_points or ASKING.search(wanted) or len(wanted) > MAX_POINT_WORDS:
            return False  # a question about pickup, left to the FAQ
        points = [p.name for p in (matches or campaign.pickup_points)]  # ambiguous: those it could be
        ctx.reply("orders/pickup_unknown.j2", points=points, mention=True, priority=Priority.ORDER)
        return True
    sell.store.set_pickup(campaign.id, msg.sender.id, matches[0].name, ctx.clock.now())
    ctx.reply(
        "orders/pickup_set.j2",
        name=safe_name(msg.sender.name),
        point=matches[0],
        mention=True,
        priority=Priority.ORDER,
    )
    return True


@on_message(match=match_order, priority=Priority.ORDER + 1)
async def handle_order(msg: GroupMessage, ctx: Context) -> bool:
    """A chain order in chat (接龙 A1 2, A1+2, +1, 草莓 2, …) while a campaign runs in the group
    (open, in its 返场, or before T for a member with early access)."""
    sell = selling(ctx.services)
    intent = ctx.intent
    if not isinstance(intent, OrderIntent):  # DEFER: no status memory to match from (setup did not run)
        intent = order_intent(sell, msg.group_id, msg.text)
        if intent is None:
            return False
    campaign, status, catalog, parsed = intent.campaign, intent.status, intent.catalog, intent.parsed
    mentioned = intent.mentioned
    key = (campaign.id, msg.group_id)
    if parsed is None:
        if mentioned is not None:
            sell.last_product[key] = mentioned  # so a following "+1" means this product
        return False
    name = safe_name(msg.sender.name)
    terms = order_terms(sell, campaign, status, msg.sender.id, ctx.clock.now())
    if terms is None:
        opens_at = sell.times(campaign)[0]
        sell.notice(
            msg.group_id,
            "not_open" if status == "scheduled" else "closed",
            msg.sender.id,
            name,
            opens_at=opens_at,
        )
        return True
    if parsed.unknown:
        sell.notice(msg.group_id, "unknown", msg.sender.id, name, refs="、".join(parsed.unknown))
    lines: dict[str, int] = {}
    for item in parsed.items:
        code = item.code
        if code is None:
            code = catalog.codes[0] if len(catalog.codes) == 1 else sell.last_product.get(key)
        if code is None:
            sell.notice(msg.group_id, "which", msg.sender.id, name, example=catalog.codes[0])
            return True
        lines[code] = lines.get(code, 0) + item.quantity
    if not lines:
        return True
    sell.last_product[key] = next(reversed(lines))
    sell.ensure_stock(campaign)
    sell.writer.enqueue(
        PlaceOrder(
            campaign.id,
            msg.group_id,
            msg.sender.id,
            name,
            tuple(lines.items()),
            msg.time,
            intent.remark,
            terms.extra_limit,
            terms.early_from,
            terms.reopen,
        )
    )
    return True


__all__ = ["Notice", "Selling", "handle_cancel", "handle_my_orders", "handle_order", "selling"]
