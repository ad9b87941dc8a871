"""Helpers for the payment and list tests: a shop with a coupon, red-packet credit and 满减,
orders in two groups, a close, and the chat with @-mentions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.campaign import Campaign
from handlers.coupons.wallet import CouponStore
from tests.commerce.selling_kit import CLOSES, G1, G2, Shop, build_shop, campaign_text
from tests.factories import group_message
from tests.fakes import FakeClock

COUPONS = """\
coupons:
  - id: strawberry
    keyword: 草莓券
    amount: 8
    min_spend: 15
    products: [A1]
    valid_until: C
"""


def shop_for(tmp_path: Path, clock: FakeClock, *, fulfilment: str = "", db_url: str | None = None) -> Shop:
    text = campaign_text() + COUPONS + (f"fulfilment:\n{fulfilment}" if fulfilment else "")
    return build_shop(tmp_path, clock, text=text, db_url=db_url)


def campaign(shop: Shop) -> Campaign:
    loaded = shop.registry.campaigns["t1"]
    return loaded.campaign


async def orders(shop: Shop) -> None:
    """alice (G1): ¥8 coupon, ¥3 credit, 2×A1 = ¥20 → ¥9; bob (G1): A1+A2 = ¥30.50, 满30减5 → ¥25.50;
    carol (G2): 3×A1 = ¥30, 满30减5 → ¥25."""
    await shop.open()
    await shop.say("草莓券", "alice", name="王阿姨")
    await shop.say("/redpacket 1 3", "lily")
    await shop.say("抢", "alice", name="王阿姨")
    await shop.say("A1 2", "alice", name="王阿姨")
    await shop.say("A1 1", "bob", name="李叔")
    await shop.say("A2 1", "bob", name="李叔")
    await shop.say("A1 3", "carol", group=G2, name="<script>alert(1)</script>")
    await shop.drain()


async def close(shop: Shop) -> None:
    shop.clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.app.services.settle()
    await shop.drain()


async def mention(shop: Shop, text: str, sender: str, mentions: tuple[str, ...], group: str = G1) -> Any:
    msg = group_message(text, sender, group=group, at=shop.clock.now(), mentions=mentions)
    return await shop.transport.inject(msg)


def redeemed(shop: Shop) -> list[str]:
    return [m for m, _ in CouponStore(shop.app.services.repo.engine).consumed("campaign:t1")]


__all__ = ["G1", "G2", "campaign", "close", "mention", "orders", "redeemed", "shop_for"]
