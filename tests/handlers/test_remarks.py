"""Order remarks (备注): with the order or on their own, stored privately, never posted to a group;
and the 我的订单 extension point (`OrderExtras`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.campaign import Campaign
from handlers.selling.extras import OrderExtras
from handlers.selling.parse import split_remark
from tests.bot.test_hot_path_no_db import _loop_statements
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, Shop, build_shop, campaign_text
from tests.factories import private_message
from tests.fakes import FakeClock

SECRETS = ("3栋502", "放门口", "13812345678", "东单元8楼")


def group_posts(shop: Shop) -> list[str]:
    """Every message the bot sent to any group."""
    return [m.text for m in shop.transport.sent if m.group_id]


def assert_no_secret_in_groups(shop: Shop) -> None:
    for text in group_posts(shop):
        for secret in SECRETS:
            assert secret not in text, text


def held(shop: Shop) -> dict[str, int]:
    totals: dict[str, int] = {}
    for order in shop.sell.store.orders("t1"):
        totals[order.member_id] = totals.get(order.member_id, 0) + order.quantity
    return totals


async def tell(shop: Shop, text: str, sender: str) -> Any:
    return await shop.transport.inject(private_message(text, sender, at=shop.clock.now()))


@pytest.mark.parametrize(
    ("text", "order", "remark"),
    [
        ("A1 2 备注 3栋502", "A1 2", "3栋502"),
        ("接龙 A1 2 备注：放门口", "接龙 A1 2", "放门口"),
        ("A1 2 (备注 放门口)", "A1 2", "放门口"),
        ("A1 2（备注：放门口）", "A1 2", "放门口"),
        ("备注：3栋502", "", "3栋502"),
        ("A1 2", "A1 2", None),
    ],
)
def test_split_remark_is_a_string_operation(text: str, order: str, remark: str | None) -> None:
    assert split_remark(text) == (order, remark)


async def test_order_with_remark_commits_both_and_no_group_post_shows_it(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = build_shop(tmp_path, clock, db_url=db_url, text=campaign_text(a1=50, a2=50, limit=10))
    await shop.open()
    await shop.say("A1 2 备注 3栋502", "a", drain=False)
    await shop.say("接龙 A2 1 备注：放门口", "b", drain=False)
    await shop.say("A1 1 (备注 电话13812345678)", "c", group=G2, drain=False)
    await shop.say("A1 1 备注：东单元8楼", "a", drain=False)  # the latest remark replaces the first
    await shop.drain()
    assert held(shop) == {"a": 3, "b": 1, "c": 1}
    assert shop.sell.store.remarks("t1") == {"a": "东单元8楼", "b": "放门口", "c": "电话13812345678"}
    assert shop.sell.store.remark("t1", "b") == "放门口" and shop.sell.store.remark("t1", "z") == ""
    [chain, *_] = [m.text for m in shop.transport.sent if m.kind == "chain" and m.group_id == G1]
    assert "a 丹东草莓" in chain and "备注" not in chain
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert group_posts(shop)
    assert_no_secret_in_groups(shop)


async def test_a_refused_order_stores_no_remark(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=1, a2=5))
    await shop.say("A1 1 备注 3栋502", "early")  # before the opening: refused
    await shop.open()
    await shop.say("A1 1", "a")
    await shop.say("A1 1 备注 3栋502", "b")  # sold out
    await shop.say("A9 1 备注 放门口", "c")  # no such product
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    await shop.say("A2 1 备注 放门口", "d")  # closed
    assert held(shop) == {"a": 1}
    assert shop.sell.store.remarks("t1") == {}
    assert any("@b" in t and "售罄" in t for t in shop.texts())
    assert_no_secret_in_groups(shop)


async def test_a_remark_after_the_order_is_stored_and_acknowledged_privately(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = build_shop(tmp_path, clock, db_url=db_url)
    await shop.open()
    await shop.say("A1 1", "a")
    before = len(group_posts(shop))
    result = await shop.say("备注 放门口", "a")
    assert result.handled_by == "handlers.selling.remarks.handle_remark"
    assert shop.sell.store.remarks("t1") == {"a": "放门口"}
    assert len(group_posts(shop)) == before  # nothing in the group: not an echo, not an answer
    [ack] = shop.transport.private_texts("a")
    assert "备注已记下" in ack and "放门口" in ack and "测试鲜果团" in ack

    result = await tell(shop, "备注：3栋502", "a")  # privately: the latest campaign with orders
    assert result.handled_by == "handlers.selling.remarks.handle_remark_private"
    assert shop.sell.store.remark("t1", "a") == "3栋502"
    assert "3栋502" in shop.transport.private_texts("a")[-1]
    assert len(group_posts(shop)) == before
    assert_no_secret_in_groups(shop)


async def test_a_remark_without_an_order_gets_a_private_hint(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    shop.transport.clear()
    result = await shop.say("备注 3栋502", "z")
    assert result.handled_by == "handlers.selling.remarks.handle_remark"
    await tell(shop, "备注 放门口", "y")
    assert group_posts(shop) == []
    assert "请先下单" in shop.transport.private_texts("z")[0]
    assert "请先下单" in shop.transport.private_texts("y")[0]
    assert shop.sell.store.remarks("t1") == {}
    await shop.say("A1 1", "x")
    await shop.say("取消全部", "x")
    await shop.say("备注 放门口", "x")  # cancelled orders do not count
    assert "请先下单" in shop.transport.private_texts("x")[-1]
    assert shop.sell.store.remarks("t1") == {}


async def test_a_question_about_remarks_is_left_to_the_faq(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 1", "a")
    result = await shop.say("备注怎么写？", "a")
    assert not result.handled_by.startswith("handlers.selling.remarks")
    assert shop.sell.store.remarks("t1") == {}


async def test_my_orders_shows_the_lines_of_registered_providers(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    calls: list[tuple[str, str, bool]] = []

    def pickup_code(campaign: Campaign, member_id: str, private: bool) -> list[str]:
        calls.append((campaign.id, member_id, private))
        return ["取货码 K7Q3"] if private else ["结团后私信发取货码"]

    def broken(campaign: Campaign, member_id: str, private: bool) -> list[str]:
        raise RuntimeError("a broken feature")

    extras = shop.app.services.get_or_make(OrderExtras, OrderExtras)
    extras.add(broken)
    extras.add(pickup_code)
    await shop.open()
    await shop.say("A1 1 备注 3栋502", "a")
    await shop.say("我的订单", "a")
    reply = shop.texts()[-1]
    assert "A1 丹东草莓×1" in reply and "结团后私信发取货码" in reply
    assert "K7Q3" not in reply and "3栋502" not in reply  # private lines and the remark stay private
    await tell(shop, "我的订单", "a")
    private = shop.transport.private_texts("a")[-1]
    assert "A1 丹东草莓×1" in private and "取货码 K7Q3" in private and "备注：3栋502" in private
    assert calls == [("t1", "a", False), ("t1", "a", True)]
    await shop.say("我的订单", "nobody")  # no orders: no provider asked
    assert "还没有接龙" in shop.texts()[-1] and len(calls) == 2


async def test_remarks_of_a_campaign_is_one_query(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=50, limit=10))
    await shop.open()
    for n in range(5):
        await shop.say(f"A1 1 备注 {n}号楼", f"m{n}", drain=False)
    await shop.drain()
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    engine = shop.sell.store.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        found = shop.sell.store.remarks("t1")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert found == {f"m{n}": f"{n}号楼" for n in range(5)}
    assert len(statements) == 1


async def test_an_order_with_a_remark_runs_no_statement_on_the_loop(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS)
    await shop.open()
    seen, handled_by = await _loop_statements(shop.app, clock, "A1 1", "A1 1 备注 3栋502")
    assert handled_by == "handlers.selling.orders.handle_order"
    assert seen == [], "\n".join(seen)
    seen, handled_by = await _loop_statements(shop.app, clock, "A1 1", "备注 放门口")
    assert handled_by == "handlers.selling.remarks.handle_remark"
    assert seen == [], "\n".join(seen)
    assert shop.sell.store.remark("t1", "alice") == "放门口"
