"""Issue 13.12: a stock broadcast posts only when the numbers moved, in words that fit the numbers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.commerce.selling_kit import G1, OPENS, build_shop, campaign_text
from tests.fakes import FakeClock


def every_ten_minutes(**kwargs: int) -> str:
    return campaign_text(**kwargs).replace("  at: [T+30m]\n", "  at: [T+30m]\n  every: 10m\n")


async def broadcast(shop, minutes: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Run the broadcast due `minutes` after opening; what group one saw."""
    node = next(
        n
        for n in shop.registry.effective_nodes("t1")
        if n.kind == "broadcast" and n.fire_at == OPENS + timedelta(minutes=minutes)
    )
    shop.clock.set(node.fire_at)
    shop.transport.clear()
    await shop.registry.run_node("t1", node.node_id)
    await shop.drain()
    return shop.texts(G1)


async def test_a_broadcast_is_not_repeated_while_nothing_sells(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=every_ten_minutes(a1=200, a2=50, limit=200))
    await shop.open()
    await shop.say("A1 130", "a")
    [first] = await broadcast(shop, 30)
    assert "已售 130 件" in first
    assert await broadcast(shop, 40) == []  # nothing sold since: nothing to say
    assert await broadcast(shop, 50) == []
    await shop.say("A1 1", "b")
    [moved] = await broadcast(shop, 60)
    assert "已售 131 件" in moved


async def test_the_wording_follows_the_numbers(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=every_ten_minutes(a1=200, a2=50, limit=200))
    await shop.open()
    await shop.say("A1 2", "a")
    [slow] = await broadcast(shop, 30)
    assert "已售 2 件" in slow and "火热" not in slow
    await shop.say("A1 150", "b")
    [hot] = await broadcast(shop, 40)
    assert "火热" in hot and "已售 152 件" in hot


async def test_no_broadcast_when_nothing_has_sold_since_the_opening(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=every_ten_minutes(a1=200, a2=50, limit=200))
    await shop.open()
    assert await broadcast(shop, 30) == []
