"""Issue 13.15: closing a group nobody ordered in posts no "0 人下单，成交额 ¥0"."""

from __future__ import annotations

from pathlib import Path

from tests.commerce.selling_kit import G1, G2, build_shop
from tests.fakes import FakeClock


async def test_early_close_without_any_orders_posts_no_results(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    shop.transport.clear()
    await shop.say("/close", "lily")
    closing = shop.texts(G1)
    assert closing and any("已结团" in t for t in closing)
    assert not any("0 人" in t or "战绩" in t or "成交额" in t for t in closing), closing


async def test_a_group_without_orders_hears_only_the_campaign_wide_figures(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 1", "bob", group=G2)
    shop.transport.clear()
    await shop.say("/close", "lily")
    [closing] = [t for t in shop.texts(G1) if "已结团" in t]
    assert "本群" not in closing and "0 人下单" not in closing
    assert "全部 2 个群：1 人" in closing


async def test_close_with_orders_still_posts_results(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 1", "alice")
    await shop.say("/close", "lily")
    assert any("战绩" in t and "本群：1 人下单" in t for t in shop.texts(G1))
