"""Order points at close: per yuan of each buyer's active orders, double inside a window, once per
group's close however often the close runs, and across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers.points.ledger import points_of
from handlers.points.orders import Window, order_points, order_ref
from handlers.selling.ops import OrderView
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, Shop, build_shop, campaign_text
from tests.factories import private_message
from tests.fakes import FakeClock


def with_points(section: str) -> str:
    return campaign_text() + "points:\n" + section


def order_rows(shop: Shop) -> list[tuple[str, int, str, str]]:
    ledger = points_of(shop.app.services)
    rows = [e for m in ("alice", "bob", "carol") for e in ledger.entries(m, 50) if e.reason == "order"]
    return sorted((e.member_id, e.points, e.ref, e.group_id) for e in rows)


async def test_buyers_earn_per_yuan_double_in_the_window_once_however_often_the_close_runs(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(
        tmp_path, clock, text=with_points("  per_yuan: 1\n  double:\n    - {from: T, until: T+30m}\n")
    )
    await shop.open()  # T
    await shop.say("A1 2", "alice")  # 2 × ¥10 inside the window: 40
    clock.set(OPENS + timedelta(minutes=30))  # the window's end is not in it
    await shop.say("A2 1", "bob", group=G2)  # ¥20.50 at single points: 20 (rounded down)
    await shop.say("A1 1", "carol")
    await shop.say("取消全部", "carol")  # cancelled before close: nothing
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.registry.run_node("t1", "close")  # a retried job: the claim is taken, nothing more
    await shop.drain()
    expected = [("alice", 40, order_ref("t1", G1), G1), ("bob", 20, order_ref("t1", G2), G2)]
    assert order_rows(shop) == expected
    assert points_of(shop.app.services).awarded("order", "t1") == {"alice": 40, "bob": 20}

    after = build_shop(
        tmp_path, clock, text=with_points("  per_yuan: 1\n  double:\n    - {from: T, until: T+30m}\n")
    )
    await after.registry.run_node("t1", "close")  # the schedule runs the close again on start
    ledger = points_of(after.app.services)  # and were the hook itself run again, the ledger's key holds
    assert not ledger.credit("alice", 40, "order", order_ref("t1", G1), now=clock.now(), campaign_id="t1")
    assert order_rows(after) == expected
    assert ledger.balance("alice") == 40 and ledger.balance("carol") == 0

    await after.transport.inject(private_message("我的积分", "alice", at=clock.now()))
    answer = after.transport.private_texts("alice")[-1]
    assert "下单「测试鲜果团」 +40" in answer  # the entry names the campaign


async def test_each_groups_close_pays_its_own_orders(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)  # no points: section: one point per yuan
    await shop.open()
    await shop.say("A1 1", "alice")
    clock.set(CLOSES - timedelta(minutes=30))
    await shop.say("/close", "lily")  # 团购一群 closes early
    assert order_rows(shop) == [("alice", 10, order_ref("t1", G1), G1)]
    await shop.say("A1 2", "alice", group=G2)  # she buys in the other group too, still open
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    assert order_rows(shop) == [
        ("alice", 10, order_ref("t1", G1), G1),
        ("alice", 20, order_ref("t1", G2), G2),
    ]


async def test_a_campaign_may_pay_no_order_points(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=with_points("  per_yuan: 0\n"))
    await shop.open()
    await shop.say("A1 2", "alice")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    assert order_rows(shop) == []
    assert shop.sell.status("t1", G1) == "closed"


def test_the_points_of_orders_count_fen_double_in_windows_and_round_down_per_buyer() -> None:
    t = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    window = Window(t, t + timedelta(hours=1))

    def order(member: str, cents: int, quantity: int, at: datetime) -> OrderView:
        return OrderView(0, "g", member, member, "A1", quantity, cents, at)

    orders = [
        order("a", 999, 1, t),  # in the window: 19.98
        order("a", 1, 1, t + timedelta(hours=1)),  # the end is not in it: 0.01
        order("b", 2050, 1, t - timedelta(seconds=1)),  # before it: 20.50
        order("c", 40, 1, t),  # 0.80 double: still no whole point
    ]
    assert order_points(orders, 1.0, (window,)) == {"a": 19, "b": 20}
    assert order_points(orders, 0.5, (window,)) == {"a": 9, "b": 10}
    assert order_points(orders, 2.0, ()) == {"a": 20, "b": 41}  # no window: c's 0.80 still rounds to 0
