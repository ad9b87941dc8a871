"""`/gifts` for leaders (privately, by member id) and the 赠品 line of 我的订单."""

from __future__ import annotations

from pathlib import Path

from tests.commerce.selling_kit import Shop, build_shop, campaign_text
from tests.fakes import FakeClock
from tests.gifts.kit import G1, G2, text_with


async def gifted_sale(tmp_path: Path, clock: FakeClock) -> Shop:
    shop = build_shop(tmp_path, clock, text=text_with())
    await shop.open()
    for member, group, name in [("a", G1, "张三"), ("b", G2, "李四"), ("c", G1, "王五"), ("d", G1, "赵六")]:
        await shop.say("A1 1", member, group, name=name)
    await shop.say("取消", "b", G2)  # 李四's gift passes to 赵六
    shop.transport.clear()
    return shop


async def test_a_leader_gets_the_gift_list_of_their_group_privately(tmp_path: Path, clock: FakeClock) -> None:
    shop = await gifted_sale(tmp_path, clock)
    await shop.say("/gifts", "lily", G1)
    [text] = shop.transport.private_texts("lily")
    assert "保温杯一个" in text and "已送 3 份" in text and "已送完" in text and "1 份为取消后顺延" in text
    lines = [line for line in text.splitlines() if line[:1].isdigit()]
    assert lines == ["1. 张三", "2. 赵六 顺延", "3. 王五"]
    assert shop.texts(G1) == []  # names never reach the group


async def test_an_admin_sees_every_group_and_members_see_nothing(tmp_path: Path, clock: FakeClock) -> None:
    shop = await gifted_sale(tmp_path, clock)
    await shop.say("/gifts", "c", G1, name="lily")  # a member renamed after the leader: refused by id
    assert not any("张三" in t for t in shop.transport.texts())
    await shop.say("/gifts all", "admin", G2)
    [text] = shop.transport.private_texts("admin")
    assert "1. 张三（团购一群）" in text and "3. 王五（团购一群）" in text


async def test_gifts_without_a_gifts_section(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text())
    await shop.open()
    shop.transport.clear()
    await shop.say("/gifts", "lily", G1)
    assert any("没有设置前N名下单赠礼" in t for t in shop.texts(G1))


async def test_my_orders_shows_the_gift_to_its_holder_only(tmp_path: Path, clock: FakeClock) -> None:
    shop = await gifted_sale(tmp_path, clock)
    await shop.say("我的订单", "d", G1)
    await shop.say("我的订单", "a", G1)
    mine = [t for t in shop.transport.texts() if "赠品" in t]
    assert any("赵六" in t or "第 2 份" in t for t in mine) and any("第 1 份" in t for t in mine)
    shop.transport.clear()
    await shop.say("A1 1", "e", G1)
    await shop.say("我的订单", "e", G1)
    assert not any("赠品" in t for t in shop.transport.texts())
