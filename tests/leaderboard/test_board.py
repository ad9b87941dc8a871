"""实时销量榜 on the broadcasts: its content, one post per change, groups compared, never closed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from handlers.leaderboard.figures import figures
from tests.commerce.selling_kit import G1, G2, OPENS, Shop, build_shop, campaign_text
from tests.fakes import FakeClock

BOARD = "leaderboard: {top: 2, rank_groups_by: gmv}\n"
TEXT = campaign_text(a1=50, a2=50, limit=20).replace("at: [T+30m]", "at: [T+30m, T+1h, T+90m]") + BOARD


def boards(shop: Shop, group: str = G1) -> list[str]:
    return [t for t in shop.texts(group) if "实时销量榜" in t]


async def broadcast(shop: Shop, minutes: int) -> None:
    shop.clock.set(OPENS + timedelta(minutes=minutes))
    node = {30: "broadcast-T+30m", 60: "broadcast-T+1h", 90: "broadcast-T+1h30m"}[minutes]
    await shop.registry.run_node("t1", node)
    await shop.drain()


@pytest.fixture
def shop_nodes(tmp_path: Path, clock: FakeClock) -> Shop:
    shop = build_shop(tmp_path, clock, text=TEXT)
    ids = {n.node_id for n in shop.registry.campaigns["t1"].nodes if n.kind == "broadcast"}
    assert ids == {"broadcast-T+30m", "broadcast-T+1h", "broadcast-T+1h30m"}
    return shop


async def test_board_lists_top_products_and_ranks_groups_without_member_names(shop_nodes: Shop) -> None:
    shop = shop_nodes
    await shop.open()
    await shop.say("A1 3", "alice", G1, name="张三丰")
    await shop.say("A2 5", "bob", G2, name="李四")  # 5 × 20.50 = ¥102.50 beats G1's ¥30.00
    await shop.say("A1 1", "carol", G2, name="王五")
    shop.transport.clear()
    await broadcast(shop, 30)

    [g1] = boards(shop, G1)
    [g2] = boards(shop, G2)
    assert g1.index("赣南脐橙") < g1.index("丹东草莓")  # 5 sold before 4
    assert "已售 5" in g1 and "已售 4盒" in g1
    # 团购二群 sold ¥112.50 (5 × ¥20.50 + ¥10.00), 团购一群 ¥30.00: ranked by GMV, not by units
    assert "按成交额" in g1 and g1.index("1. 团购二群 ¥112.50") < g1.index("2. 团购一群 ¥30.00 ← 本群")
    assert "团购二群 ¥112.50 ← 本群" in g2 and "团购一群 ¥30.00 ←" not in g2
    for name in ("张三丰", "李四", "王五", "alice", "bob", "carol"):
        assert name not in g1 and name not in g2


async def test_two_broadcasts_without_new_orders_post_one_board(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = build_shop(tmp_path, clock, text=TEXT, db_url=db_url)
    await shop.open()
    await shop.say("A1 2", "alice", G1)
    shop.transport.clear()
    await broadcast(shop, 30)
    await broadcast(shop, 60)  # nothing changed: no second board
    assert len(boards(shop, G1)) == 1 and len(boards(shop, G2)) == 1
    await shop.say("A1 1", "bob", G2)
    await broadcast(shop, 90)  # a new order: a new board, with the new figure
    posts = boards(shop, G1)
    assert len(posts) == 2 and "已售 3盒" in posts[1]
    engine = shop.app.services.repo.engine
    assert figures(engine, "t1", None) == {"leaderboard_posts": 4}
    assert figures(engine, "t1", [G1]) == {"leaderboard_posts": 2}
    assert figures(engine, "other", None) == {"leaderboard_posts": 0}


async def test_a_broadcast_that_runs_twice_posts_once(shop_nodes: Shop) -> None:
    shop = shop_nodes
    await shop.open()
    await shop.say("A1 2", "alice", G1)
    shop.transport.clear()
    await broadcast(shop, 30)
    await broadcast(shop, 30)  # the same node again (a retry, a leader racing the schedule)
    assert len(boards(shop, G1)) == 1


async def test_nothing_sold_means_no_board(shop_nodes: Shop) -> None:
    shop = shop_nodes
    await shop.open()
    shop.transport.clear()
    await broadcast(shop, 30)
    assert boards(shop, G1) == [] and boards(shop, G2) == []


async def test_not_posted_in_a_group_closed_early(shop_nodes: Shop) -> None:
    shop = shop_nodes
    await shop.open()
    await shop.say("A1 2", "alice", G1)
    await shop.say("/close", "lily", G1)  # lily leads 团购一群: closes it early
    await shop.drain()
    shop.transport.clear()
    await broadcast(shop, 30)
    assert boards(shop, G1) == []
    [g2] = boards(shop, G2)
    assert "已售 2盒" in g2


async def test_one_group_campaign_has_no_group_comparison(tmp_path: Path, clock: FakeClock) -> None:
    text = campaign_text(groups=(G1,), a1=50, a2=50, limit=20) + BOARD
    shop = build_shop(tmp_path, clock, text=text)
    await shop.open()
    await shop.say("A1 2", "alice", G1)
    shop.transport.clear()
    shop.clock.set(OPENS + timedelta(minutes=30))
    await shop.registry.run_node("t1", "broadcast-T+30m")
    await shop.drain()
    [g1] = boards(shop, G1)
    assert "丹东草莓" in g1 and "各群战况" not in g1


async def test_disabled_board_posts_nothing(tmp_path: Path, clock: FakeClock) -> None:
    text = campaign_text(a1=50, a2=50, limit=20) + "leaderboard: {enabled: false}\n"
    shop = build_shop(tmp_path, clock, text=text)
    await shop.open()
    await shop.say("A1 2", "alice", G1)
    shop.transport.clear()
    shop.clock.set(OPENS + timedelta(minutes=30))
    await shop.registry.run_node("t1", "broadcast-T+30m")
    await shop.drain()
    assert boards(shop, G1) == []
