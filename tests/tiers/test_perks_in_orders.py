"""Integration with selling (its order path applies the perks the tiers book answers): a VIP made
at one sale's close orders beyond the normal per-member limit in the next sale, and may order in
their early-access window before T-0 while a 普通 member may not."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.commerce.selling_kit import G1, OPENS
from tests.fakes import FakeClock
from tests.tiers.kit import add_earlier_sale, run_sale, tier_shop


def held(shop: object, member: str) -> int:
    sell = shop.sell  # type: ignore[attr-defined]
    return sum(o.quantity for o in sell.store.orders("t1", member_id=member) if o.product_code == "A1")


async def test_a_vip_orders_beyond_the_normal_limit_and_early(tmp_path: Path, clock: FakeClock) -> None:
    shop = tier_shop(tmp_path, clock)
    add_earlier_sale(shop, tmp_path)
    await run_sale(shop, "t0", [("bob", "A2 5", G1)])  # ¥102.50: VIP (extra_limit 2, early 30 min)

    clock.set(OPENS - timedelta(minutes=20))  # t1 is still scheduled; bob's window began at T-30m
    await shop.say("A1 1", "bob")
    await shop.say("A1 1", "dave")  # 普通: not yet
    assert held(shop, "bob") == 1 and held(shop, "dave") == 0

    clock.set(OPENS)
    await shop.registry.run_node("t1", "open")
    await shop.say("A1 4", "bob")  # limit 3 + 2: five in all
    await shop.say("A1 5", "dave")  # capped at the normal 3
    assert held(shop, "bob") == 5
    assert held(shop, "dave") == 3
