"""Acceptance 2: a burst of 200 orders in 10 s yields a handful of posts, each accurate when rendered."""

from __future__ import annotations

import re
from pathlib import Path

from tests.commerce.selling_kit import G1, OPENS, build_shop, campaign_text
from tests.fakes import FakeClock


async def burst(shop, count: int, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """`count` one-unit orders spread over `seconds`, sending whatever the outbox allows as time passes."""
    outbox = shop.app.services.outbox
    for i in range(count):
        await shop.say("A1 1", f"m{i}", name=f"团员{i}", drain=False)
        shop.clock.advance(seconds / count)
        await outbox.pump()
    await shop.drain()


def committed_units_at(shop, when) -> int:  # type: ignore[no-untyped-def]
    return sum(o.quantity for o in shop.sell.store.orders("t1", group_id=G1) if o.created_at < when)


async def test_chain_lists_are_coalesced_and_accurate(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=1000, limit=2))
    await shop.open()
    shop.transport.clear()
    await burst(shop, 200, 10.0)
    chains = [(at, m.text) for at, m in zip(shop.transport.sent_at, shop.transport.sent) if m.kind == "chain"]
    assert 2 <= len(chains) <= 4
    for at, text in chains:
        total = int(re.search(r"合计：A1×(\d+)", text).group(1))  # type: ignore[union-attr]
        assert total == committed_units_at(shop, at)  # what the list says is what was committed when it left
    assert int(re.search(r"合计：A1×(\d+)", chains[-1][1]).group(1)) == 200  # type: ignore[union-attr]
    last = chains[-1][1]
    assert (
        "200. 团员199 丹东草莓×1 🆕" in last and "前面还有 160 条" in last
    )  # long lists show the newest lines
    new_marks = [text.count("🆕") for _, text in chains]
    assert sum(new_marks) >= 200 - 40 * 0 - 160  # every entry was marked new in the list that first showed it
    assert all(n > 0 for n in new_marks)
    assert len(shop.transport.sent) <= 8  # lists plus a stock post or two, never one message per order


async def test_stock_posts_are_coalesced_and_say_only_news(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=50, limit=2))
    await shop.open()
    clock.advance(120)  # well after the opening post's window
    shop.transport.clear()
    await burst(shop, 200, 10.0)
    stock = [(at, m.text) for at, m in zip(shop.transport.sent_at, shop.transport.sent)
             if m.group_id == G1 and m.kind == "stock"]  # fmt: skip
    assert len(stock) == 2, stock  # low-stock at once, sold out one window later; 150 more orders add nothing
    (first_at, first), (second_at, second) = stock
    assert re.search(r"A1 丹东草莓 .*仅剩\d+件", first)
    assert "A1 丹东草莓 ¥10.00/盒 · 已售罄" in second
    assert (second_at - first_at).total_seconds() >= 60  # the campaign's 60 s window
    assert sum(o.quantity for o in shop.sell.store.orders("t1")) == 50
    notices = [m for m in shop.transport.sent if m.group_id == G1 and m.kind == "notice"]
    assert 1 <= len(notices) <= 5 and sum(len(m.mentions) for m in notices) == 150  # every refusal answered


async def test_a_burst_right_after_opening_waits_for_the_window(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=50, limit=2))
    await shop.open()
    await burst(shop, 80, 10.0)
    stock = [(at, m.text) for at, m in zip(shop.transport.sent_at, shop.transport.sent)
             if m.group_id == G1 and m.kind == "stock"]  # fmt: skip
    [(at, text)] = stock  # low stock and sold out, merged into one post
    assert (at - OPENS).total_seconds() >= 60 and "A1 丹东草莓 ¥10.00/盒 · 已售罄" in text
