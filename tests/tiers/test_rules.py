"""Which tiers purchases reach: spend OR sales within the window of days, and the exact moment
each tier lapses without a new purchase (pure rules, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config_tiers import Tier
from handlers.tiers.rules import Purchase, current, meets, standing, totals

NOW = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
SILVER = Tier(name="银卡", spend_yuan=30, days=30)
VIP = Tier(name="VIP", spend_yuan=500, orders=5, days=90)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def buy(campaign: str, yuan: float, days_ago: float) -> Purchase:
    return Purchase(campaign, round(yuan * 100), ago(days_ago))


def test_spend_alone_reaches_the_tier_and_lapses_when_its_oldest_needed_purchase_leaves() -> None:
    purchases = [buy("c1", 300, 80), buy("c1", 150, 10), buy("c2", 60, 1)]  # ¥510 in one sale and another
    held = meets(VIP, 2, purchases, NOW)
    assert held is not None and held.reached_by == "spend"
    assert (held.spend_cents, held.orders) == (51_000, 2)
    assert held.expires_at == ago(80) + timedelta(days=90)  # ¥60 + ¥150 alone would not do
    assert meets(VIP, 2, purchases[1:], NOW) is None  # ¥210


def test_five_sales_reach_it_without_the_spend_and_ten_orders_in_one_sale_do_not() -> None:
    five_sales = [buy(f"c{i}", 10, 10 * i) for i in range(1, 6)]  # ¥50 over five sales
    held = meets(VIP, 2, five_sales, NOW)
    assert held is not None and held.reached_by == "orders" and held.orders == 5
    assert held.expires_at == ago(50) + timedelta(days=90)  # the oldest of the five leaves then
    one_sale = [buy("c1", 10, i) for i in range(10)]
    assert meets(VIP, 2, one_sale, NOW) is None  # a basket split in ten is one purchase


def test_both_criteria_keep_the_later_expiry() -> None:
    purchases = [buy(f"c{i}", 100, i) for i in range(1, 6)]  # ¥500 and five sales
    held = meets(VIP, 2, purchases, NOW)
    assert held is not None and held.reached_by == "spend+orders"
    assert held.expires_at == ago(5) + timedelta(days=90)


def test_the_window_counts_the_last_days_only() -> None:
    assert meets(SILVER, 1, [buy("c1", 30, 29.9)], NOW) is not None
    assert meets(SILVER, 1, [buy("c1", 30, 30)], NOW) is None  # exactly `days` ago: out
    assert meets(SILVER, 1, [buy("c1", 30, -1)], NOW) is None  # not yet placed at `now`
    assert totals([buy("c1", 30, 31), buy("c2", 12.5, 2)], 30, NOW) == totals([buy("c2", 12.5, 2)], 30, NOW)
    assert totals([buy("c1", 30, 31), buy("c2", 12.5, 2)], 30, NOW).spend_cents == 1250


def test_the_highest_running_tier_applies_and_a_lower_one_outlives_a_lapsed_higher_one() -> None:
    purchases = [buy("c1", 500, 85), buy("c2", 40, 2)]
    held = standing([SILVER, VIP], purchases, NOW)
    assert [(h.name, h.rank) for h in held] == [("银卡", 1), ("VIP", 2)]
    top = current(held, NOW)
    assert top is not None and top.name == "VIP"
    later = NOW + timedelta(days=6)  # VIP rested on the ¥500 of 85 days ago; 银卡 on the ¥40
    top = current(held, later)
    assert top is not None and top.name == "银卡"
    assert current(held, NOW + timedelta(days=29)) is None
    assert standing([SILVER, VIP], [], NOW) == []
