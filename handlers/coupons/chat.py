"""Keyword coupons (关键词优惠券): a keyword in chat issues the member a coupon; `我的优惠券` lists theirs.

Claims are atomic in storage (quota and per-member limit hold under a burst);
the group sees one rolling receipt naming everyone who just got the coupon
rather than a reply per claim, and "已领完" once, not to every late asker.
Names said to the group (nicknames often carry a phone number or a room: 王姐138…,
3栋502-张姐) are masked by the outbox's group filter, like every group post (bot/group_filter.py).
Coupons are consumed when the campaign closes: the orders feature redeems the
coupon each buyer's quote chose through the wallet (`handlers.coupons.wallet`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.campaign.active import ActiveCampaign, active_campaigns, coupon_window
from bot.campaign.models import Coupon
from bot.combine import add_to_post
from bot.context import Context, Services
from bot.events import GroupMessage, PrivateMessage
from bot.handler import on_message, on_private
from bot.vocab import Priority
from handlers.coupons.claims import claim, notice_once
from handlers.coupons.keywords import CouponKeyword, match_coupon
from handlers.coupons.store import ClaimResult, CouponSpec, CouponStore, IssuedCoupon

COUPON_PRIORITY = Priority.ORDER + 10
"""After chain orders (so `接龙 A1 2` is never a coupon claim), well before the FAQ."""

MY_COUPONS_RE = r"^\s*(我的优惠券|我的券|查优惠券|查券)\s*[?？!！。]?\s*$"
RECEIPT_NAMES = 20


@dataclass(frozen=True)
class Claimed:
    member_id: str
    name: str


def store_of(services: Services) -> CouponStore:
    return CouponStore(services.repo.engine)


def spec_for(active: ActiveCampaign, coupon: Coupon, now: datetime, source: str) -> CouponSpec:
    valid_from, valid_until = coupon_window(active, coupon, now)
    return CouponSpec(
        campaign_id=active.campaign.id,
        coupon_id=coupon.id,
        amount_cents=coupon.amount_cents,
        min_spend_cents=coupon.min_spend_cents,
        valid_from=valid_from,
        valid_until=valid_until,
        quota=coupon.quota,
        per_member=coupon.per_member,
        products=tuple(coupon.products),
        source=source,
    )


def coupon_terms(active: ActiveCampaign, coupon: Coupon, spec: CouponSpec, now: datetime) -> dict[str, Any]:
    """Template variables describing a coupon's terms."""
    names = [p.name for p in active.campaign.products if p.code in coupon.products]
    return {
        "amount_cents": coupon.amount_cents,
        "min_spend_cents": coupon.min_spend_cents,
        "product_names": names,
        "valid_from": spec.valid_from,
        "valid_until": spec.valid_until,
        "keyword": coupon.keyword or "",
        "issued_at": now,
    }


def issue_join_gifts(
    services: Services, group_id: str, member_id: str, now: datetime
) -> list[tuple[ActiveCampaign, Coupon, IssuedCoupon]]:
    """Issue the newcomer gift (every `on_join` coupon of the group's active campaigns)."""
    issued = []
    store = store_of(services)
    for active in active_campaigns(services, group_id, now):
        for coupon in active.campaign.coupons:
            if not coupon.on_join:
                continue
            spec = spec_for(active, coupon, now, "join")
            if spec.valid_until is not None and spec.valid_until <= now:
                continue
            result = store.claim(spec, member_id, group_id, now)
            if result.coupon is not None:
                issued.append((active, coupon, result.coupon))
    return issued


@on_message(priority=COUPON_PRIORITY, match=match_coupon)
async def handle_coupon_keyword(msg: GroupMessage, ctx: Context) -> bool:
    """A coupon keyword said in the group: issue the coupon, or say why not.

    Runs only on `match_coupon`'s intent (a live campaign's coupon keyword, found from
    memory), so chatter costs no body and no query.
    """
    now = ctx.clock.now()
    found: CouponKeyword = ctx.intent
    active, coupon = found.active, found.coupon
    spec = spec_for(active, coupon, now, "keyword")
    terms = coupon_terms(active, coupon, spec, now)
    if spec.valid_until is not None and spec.valid_until <= now:
        ctx.reply("coupons/expired.j2", mention=True, replace_key=f"coupon-expired:{msg.sender.id}", **terms)
        return True
    result: ClaimResult = await claim(ctx.services, spec, msg.sender.id, msg.group_id, now)  # off the loop
    if result.status == "issued":
        key = f"coupon:{active.campaign.id}:{coupon.id}"

        def render(items: list[Claimed]) -> str:
            return ctx.render(
                "coupons/issued.j2",
                names=[c.name for c in items[:RECEIPT_NAMES]],
                more=max(0, len(items) - RECEIPT_NAMES),
                **terms,
            )

        add_to_post(
            ctx.services,
            msg.group_id,
            key,
            Claimed(msg.sender.id, msg.sender.name),
            render,
            priority=Priority.DEFAULT,
            kind="coupon",
        )
    elif result.status == "already":
        ctx.reply(
            "coupons/already.j2",
            mention=True,
            replace_key=f"coupon-already:{msg.sender.id}",
            name=msg.sender.name,
            **terms,
        )
    elif await notice_once(ctx.services, active.campaign.id, coupon.id, msg.group_id, "exhausted", now):
        ctx.reply("coupons/exhausted.j2", **terms)
    return True


async def _my_coupons(member_id: str, ctx: Context) -> dict[str, Any]:
    """Template variables for `coupons/mine.j2`: every unused, unexpired coupon, from any group
    (read in a worker thread: the event loop runs no statement for it)."""
    now = ctx.clock.now()
    coupons = await asyncio.to_thread(store_of(ctx.services).member_coupons, member_id, now)
    titles = [ctx.render("coupons/title.j2", coupon=c) for c in coupons]
    return {"coupons": list(zip(coupons, titles, strict=True)), "now": now}


@on_message(MY_COUPONS_RE, priority=COUPON_PRIORITY - 5)
async def handle_my_coupons(msg: GroupMessage, ctx: Context) -> bool:
    """`我的优惠券`: the member's unused, unexpired coupons and expiry; the codes go privately (a
    code said in the group is anyone's, and the group filter would mask it anyway)."""
    mine = await _my_coupons(msg.sender.id, ctx)
    ctx.reply(
        "coupons/mine.j2",
        mention=True,
        replace_key=f"my-coupons:{msg.sender.id}",
        name=msg.sender.name,
        public=True,
        **mine,
    )
    if mine["coupons"]:
        ctx.send_private(msg.sender.id, "coupons/mine.j2", name=msg.sender.name, public=False, **mine)
    return True


@on_private(MY_COUPONS_RE, priority=COUPON_PRIORITY - 5)
async def handle_my_coupons_privately(msg: PrivateMessage, ctx: Context) -> bool:
    """`我的优惠券` sent to the bot directly: the same list, answered privately (coupons from every group)."""
    ctx.reply("coupons/mine.j2", name=msg.sender.name, public=False, **await _my_coupons(msg.sender.id, ctx))
    return True
