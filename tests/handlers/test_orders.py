"""Chain orders in the group: forms, before open, after close, cancel, partial fills, my orders, privacy."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, build_shop, campaign_text
from tests.fakes import FakeClock


def quantities(shop, group: str | None = None) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    totals: dict[tuple[str, str], int] = {}
    for order in shop.sell.store.orders("t1", group_id=group):
        key = (order.member_id, order.product_code)
        totals[key] = totals.get(key, 0) + order.quantity
    return totals


async def test_forms_end_to_end_and_one_list_per_window(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=50, a2=50, limit=10))
    await shop.open()
    shop.transport.clear()
    for sender, text in [("a", "接龙 A1 2"), ("b", "A1+2"), ("c", "A1 x2"), ("d", "A1×2"), ("e", "Ａ１＋２"),
                         ("f", "草莓 2"), ("g", "脐橙+1"), ("h", "A1 2 A2 1"), ("i", "A2 两份")]:  # fmt: skip
        await shop.say(text, sender, drain=False)
    await shop.drain()
    assert quantities(shop) == {
        ("a", "A1"): 2, ("b", "A1"): 2, ("c", "A1"): 2, ("d", "A1"): 2, ("e", "A1"): 2, ("f", "A1"): 2,
        ("g", "A2"): 1, ("h", "A1"): 2, ("h", "A2"): 1, ("i", "A2"): 2,
    }  # fmt: skip
    [chain] = [m.text for m in shop.transport.sent if m.kind == "chain"]  # no reply per order: one list
    assert "1. a 丹东草莓×2 🆕" in chain and "10. i 赣南脐橙×2 🆕" in chain and "合计：A1×14，A2×4" in chain


async def test_plus_one_means_the_only_or_the_last_mentioned_product(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("+1", "a")
    assert "请写上商品编号" in shop.texts()[-1]  # two products, none mentioned yet
    await shop.say("A2 赣南脐橙今天刚到，很甜", "lily")
    await shop.say("+1", "b")
    await shop.say("A1 1", "c")
    await shop.say("+2", "d")
    assert quantities(shop) == {("b", "A2"): 1, ("c", "A1"): 1, ("d", "A1"): 2}

    single = build_shop(tmp_path / "single", clock, text=campaign_text().split("  - {code: A2")[0] + "\n")
    await single.open()
    await single.say("+1", "e")
    assert quantities(single) == {("e", "A1"): 1}


async def test_before_open_says_when_it_opens(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(minutes=20))
    await shop.say("A1 2", "a")
    await shop.say("草莓 1", "b", drain=False)
    await shop.say("+1", "c")
    texts = shop.texts()
    assert any("还没开团" in t and "20:00" in t and "@a" in t for t in texts)
    assert "@b" in " ".join(texts) and "@c" in " ".join(texts)
    assert quantities(shop) == {}
    await shop.say("今天几点开团呀", "d")  # plain chat is not answered by the orders feature
    assert not any("@d" in t for t in shop.texts())


async def test_after_close_orders_are_politely_refused(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 1", "a")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    await shop.say("A1 1", "b")
    await shop.say("取消 A1", "a")
    texts = shop.texts()
    assert any("已结团" in t and "@b" in t for t in texts)
    assert any("不能再取消" in t and "@a" in t for t in texts)
    assert quantities(shop) == {("a", "A1"): 1}


async def test_cancel_returns_stock(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 3", "a")
    await shop.say("A2 2", "a")
    assert (shop.stock("A1"), shop.stock("A2")) == (7, 3)
    await shop.say("取消 A1", "a")
    assert shop.stock("A1") == 10 and quantities(shop) == {("a", "A2"): 2}
    await shop.say("取消全部", "a")
    assert shop.stock("A2") == 5 and quantities(shop) == {}
    await shop.say("取消全部", "a")
    texts = shop.texts()
    assert any("已取消 A1×3" in t for t in texts) and any("已取消 A2×2" in t for t in texts)
    assert "没有可以取消" in texts[-1]
    await shop.say("A1 3", "a")  # the limit counts active orders only
    assert quantities(shop) == {("a", "A1"): 3}


async def test_partial_fill_limit_and_sold_out(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=4, limit=3))
    await shop.open()
    shop.transport.clear()
    await shop.say("A1 5", "a")  # capped by the limit
    await shop.say("A1 1", "a")  # at the limit
    await shop.say("A1 2", "b")  # one left
    await shop.say("A1 1", "c")  # sold out
    texts = shop.texts()
    assert any("每人限购3件，已为你接龙3件" in t and "@a" in t for t in texts)
    assert any("你已经买满啦" in t for t in texts)
    assert any("只剩1件，已为你接龙1件" in t and "@b" in t for t in texts)
    assert any("已售罄，抱歉没接上" in t and "@c" in t for t in texts)
    assert any(
        m.kind == "stock" and "A1 丹东草莓" in m.text and "已售罄" in m.text for m in shop.transport.sent
    )
    assert shop.stock() == 0 and quantities(shop) == {("a", "A1"): 3, ("b", "A1"): 1}


async def test_my_orders_with_spend_tier(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 1", "a")
    await shop.say("A2 1", "a", group=G2)  # the same member in another group of the campaign
    await shop.say("我的订单", "a")
    reply = shop.texts()[-1]
    assert "A1 丹东草莓×1" in reply and "A2 赣南脐橙×1" in reply
    assert "商品金额 ¥30.50" in reply and "满减 -¥5" in reply and "预计实付 ¥25.50" in reply
    await shop.say("我的订单", "nobody")
    assert "还没有接龙" in shop.texts()[-1]


async def test_pickup_point_choice(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("自提 东门", "a")
    assert "东门菜鸟驿站" in shop.texts()[-1]
    assert shop.sell.store.pickups("t1") == {"a": "东门菜鸟驿站"}
    result = await shop.say("自提点在哪里", "b")
    assert result.handled_by != "handlers.selling.orders.handle_pickup"  # a question, left to the FAQ


async def test_group_posts_never_echo_phone_numbers(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=1))
    await shop.open()
    await shop.say("A1 1", "a", name="张三13812345678")
    await shop.say("A1 1", "b", name="李四 139 1234 5678")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    group_text = "\n".join(shop.texts(G1))
    assert "张三***" in group_text and "李四 ***" in group_text
    assert not re.search(r"\d{7,}|\d{3}[ -]\d{4}", group_text)
