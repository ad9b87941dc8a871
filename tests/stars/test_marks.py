"""Helpful marks: leaders only (by id, never by display name), names resolved among the group's
members, once per leader, member and day; 活跃之星 shows the week's standings privately."""

from __future__ import annotations

from pathlib import Path

from handlers.points.ledger import points_of
from tests.commerce.selling_kit import G1, G2, Shop
from tests.fakes import FakeClock
from tests.stars.kit import WEEK_END, decide, marks_of, say, shop_with, stars_posts


def marked(shop: Shop, group: str = G1) -> list[str]:
    return [t for t in shop.texts(group) if "热心解答" in t and "感谢" in t]


async def test_only_a_leader_by_id_can_mark_and_marks_count_once_a_day(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_with(tmp_path, clock, weights={"orders": 3, "showoff": 5, "helpful": 5})
    await shop.open()
    await say(shop, "草莓甜吗？", "alice", name="爱丽丝")
    await say(shop, "很甜，昨天刚买过", "carol", name="卡罗")
    shop.transport.clear()

    await say(shop, "/helpful @carol", "lily", name="莉莉", mentions=("carol",))  # lily leads 团购一群
    await say(shop, "/赞 卡罗", "lily", name="莉莉")  # the same leader, the same member, the same day
    await say(shop, "/helpful @carol", "mallory", name="lily", mentions=("carol",))  # a renamed member
    await say(shop, "/helpful @carol", "mike", name="麦克", mentions=("carol",))  # leads 团购二群 only
    await say(shop, "/helpful @lily", "lily", name="莉莉", mentions=("lily",))  # not oneself

    [thanks] = marked(shop)
    assert "卡罗" in thanks
    assert any("已经为 卡罗 点过赞" in t for t in shop.transport.private_texts("lily"))
    assert any("不能给自己点赞" in t for t in shop.transport.private_texts("lily"))
    assert marks_of(shop) == [(G1, "carol", "lily")]  # mallory named lily and mike marked nothing

    clock.set(WEEK_END)
    named = await decide(shop)
    [g1] = [n for n in named if n.group_id == G1]
    assert [(s.member_id, s.score) for s in g1.stars] == [("carol", 5)]  # one mark: 5 = min_score
    assert points_of(shop.app.services).balance("carol") == 50
    [post] = stars_posts(shop, G1)
    assert "卡罗" in post


async def test_a_name_is_resolved_among_the_groups_members_and_ambiguity_is_refused(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_with(tmp_path, clock)
    await shop.open()
    await say(shop, "我来回答", "carol", name="卡罗")
    await say(shop, "我也叫王五", "w1", name="王五")
    await say(shop, "我也叫王五", "w2", name="王五")
    await say(shop, "二群的卡门", "carmen", G2, name="卡门")
    shop.app.services.flush_inbound()
    shop.transport.clear()

    await say(shop, "/赞 王五", "lily")
    await say(shop, "/赞 卡门", "lily")  # a member of the other group only
    await say(shop, "/赞", "lily")
    await say(shop, "/赞 @卡罗", "lily")  # a typed @ with no mention: the name after it

    told = shop.transport.private_texts("lily")
    assert any("2 位群友都叫「王五」" in t for t in told)
    assert any("没有找到叫「卡门」" in t for t in told)
    assert any("用法" in t for t in told)
    [thanks] = marked(shop)
    assert "卡罗" in thanks


async def test_standings_are_private_masked_and_chatter_free(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_with(tmp_path, clock)
    await shop.open()
    await say(shop, "A1 1", "dave", name="大卫")
    await say(shop, "A2 1", "dave", name="大卫")
    await say(shop, "A1 1", "alice", name="爱丽丝")
    for i in range(10):
        await say(shop, f"聊天 {i}", "bob", name="话痨")
    shop.transport.clear()

    result = await say(shop, "活跃之星", "bob", name="话痨")
    assert result.handled_by == "handlers.stars.chat.handle_standings"
    assert shop.texts(G1) == []  # answered privately
    [answer] = shop.transport.private_texts("bob")
    assert "1. 大* 活跃值 6" in answer and "2. 爱** 活跃值 3" in answer
    assert "大卫" not in answer and "你本周还没有活跃值" in answer
    await say(shop, "活跃之星", "bob", name="话痨")  # asked again at once: not answered twice
    assert len(shop.transport.private_texts("bob")) == 1

    await say(shop, "活跃之星！", "dave", name="大卫")
    [mine] = shop.transport.private_texts("dave")
    assert "下单 2 笔" in mine and "第 1 名" in mine
    chatter = await say(shop, "活跃之星是什么时候评的呀大家知道吗", "erin")
    assert chatter.handled_by != "handlers.stars.chat.handle_standings"
