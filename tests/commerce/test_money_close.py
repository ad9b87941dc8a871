"""Money at close: coupons and red-packet credit valid "until close" are redeemed at the close,
and the results post and each member's 我的订单 show what was applied (gross, discounts, net)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from handlers.coupons.wallet import CouponStore
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, Shop, build_shop, campaign_text
from tests.fakes import FakeClock

COUPONS = """\
coupons:
  - id: strawberry
    keyword: 草莓券
    amount: 8
    min_spend: 15
    products: [A1]
    valid_until: C
"""


def shop_with_coupon(tmp_path: Path, clock: FakeClock) -> Shop:
    return build_shop(tmp_path, clock, text=campaign_text() + COUPONS)


async def alice_orders_with_coupon_and_credit(shop: Shop) -> None:
    """alice: a ¥8 coupon (valid until close), ¥3 of red-packet credit, 2 × ¥10 of A1."""
    await shop.open()
    await shop.say("草莓券", "alice", name="王阿姨")
    await shop.say("/redpacket 1 3", "lily")
    await shop.say("抢", "alice", name="王阿姨")
    await shop.say("A1 2", "alice", name="王阿姨")
    await shop.drain()
    consumed = CouponStore(shop.app.services.repo.engine).consumed("campaign:t1")
    assert consumed == []  # nothing is consumed before the close


def redeemed(shop: Shop) -> list[str]:
    return [member for member, _ in CouponStore(shop.app.services.repo.engine).consumed("campaign:t1")]


async def test_scheduled_close_redeems_coupon_and_credit_valid_until_close(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_with_coupon(tmp_path, clock)
    await alice_orders_with_coupon_and_credit(shop)
    clock.set(CLOSES)  # the close node runs at exactly closes_at
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert redeemed(shop) == ["alice", "alice"]  # the coupon and the red-packet credit


async def test_a_late_close_still_settles_at_the_close_instant(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_with_coupon(tmp_path, clock)
    await alice_orders_with_coupon_and_credit(shop)
    clock.set(CLOSES + timedelta(minutes=7))  # the close job ran late (busy or restarted bot)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert redeemed(shop) == ["alice", "alice"]


async def test_results_and_my_orders_show_gross_discounts_and_net_after_close(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_with_coupon(tmp_path, clock)
    await alice_orders_with_coupon_and_credit(shop)
    await shop.say("A2 1", "bob", name="李叔")  # ¥20.50, no coupon, no tier
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    [results] = [t for t in shop.texts(G1) if "团购战绩" in t]
    assert "成交额 ¥40.50" in results
    assert "优惠券 -¥8.00" in results and "红包抵扣 -¥3.00" in results
    assert "实付 ¥29.50" in results  # 40.50 - 8 - 3
    clock.advance(60)
    await shop.say("我的订单", "alice", name="王阿姨")
    mine = shop.texts(G1)[-1]
    assert "优惠券「满¥15.00减¥8.00券」-¥8.00" in mine and "红包抵扣 -¥3.00" in mine
    assert "实付 ¥9.00" in mine and "预计" not in mine


async def test_early_close_redeems_and_shows_the_same_money(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_with_coupon(tmp_path, clock)
    await alice_orders_with_coupon_and_credit(shop)
    clock.set(OPENS + timedelta(minutes=30))
    await shop.say("/close", "lily")
    await shop.drain()
    assert redeemed(shop) == ["alice", "alice"]
    [results] = [t for t in shop.texts(G1) if "团购战绩" in t]
    assert "成交额 ¥20.00" in results and "实付 ¥9.00" in results
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")  # the scheduled close finds the group closed
    await shop.drain()
    assert redeemed(shop) == ["alice", "alice"]


async def test_report_shows_the_same_gross_discounts_and_net_as_the_results(
    tmp_path: Path, clock: FakeClock
) -> None:
    from handlers.monitoring.report import build_report

    shop = shop_with_coupon(tmp_path, clock)
    await alice_orders_with_coupon_and_credit(shop)
    await shop.say("A2 1", "bob", name="李叔")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    campaign = shop.registry.campaigns["t1"].campaign
    clock.advance(3600)
    report = build_report(
        shop.app.services.repo.engine,
        "t1",
        [G1, G2],
        {G1: G1, G2: G2},
        OPENS - timedelta(days=1),
        CLOSES,
        tiers=campaign.spend_tiers,
    )
    row = report.rows[0]
    assert (row.gmv_yuan, row.tier_off_yuan, row.coupon_off_yuan, row.credit_off_yuan) == (40.5, 0, 8, 3)
    assert row.discount_yuan == 11 and row.net_yuan == 29.5
    total = report.totals()
    assert total.net_yuan == 29.5 and total.discount_yuan == 11


async def test_coupons_valid_until_close_follow_a_delayed_close(tmp_path: Path, clock: FakeClock) -> None:
    """A leader's /campaign delay moves the close; coupons already issued "until close" move with it."""
    shop = shop_with_coupon(tmp_path, clock)
    await alice_orders_with_coupon_and_credit(shop)
    await shop.say("/campaign delay t1 15m", "lily")
    await shop.drain()
    _, closes_at = shop.registry.effective_times("t1")
    assert closes_at == CLOSES + timedelta(minutes=15)
    clock.set(closes_at)  # the delayed close runs 15 minutes after the coupons' old end
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert redeemed(shop) == ["alice", "alice"]


async def test_my_orders_after_an_early_close_is_final_and_offers_no_cancel(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)  # no coupons: nothing to redeem, the total is still final
    await shop.open()
    await shop.say("A1 2", "bob", name="李叔")
    await shop.say("/close", "lily")
    clock.advance(60)
    await shop.say("我的订单", "bob", name="李叔")
    mine = shop.texts(G1)[-1]
    assert "实付 ¥20.00" in mine and "预计实付" not in mine, mine
    assert "取消发" not in mine and "已结团" in mine, mine


async def test_the_preloaded_wallet_answers_as_the_stored_wallet_before_and_after_close(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The report and the board price every buyer from one bulk read (`PreloadedWallet`); it must
    give each member exactly what the per-member wallet gives, usable coupons and credit before the
    close, what the close consumed after it, and nothing for a member it was not loaded for."""
    from handlers.coupons.wallet import PreloadedWallet, StoredWallet

    shop = shop_with_coupon(tmp_path, clock)
    await alice_orders_with_coupon_and_credit(shop)
    await shop.say("草莓券", "bob", name="李叔")
    await shop.say("A1 1", "bob", name="李叔")
    await shop.drain()
    engine = shop.app.services.repo.engine
    members = ["alice", "bob", "nobody"]

    def answers(wallet: object, at: object) -> dict[str, tuple[list[object], list[object]]]:
        return {m: (wallet.usable(m, "t1", at), wallet.redeemed(m, "t1")) for m in members}  # type: ignore[attr-defined]

    now = clock.now()
    before = answers(StoredWallet(engine), now)
    assert before["alice"][0] and before["bob"][0]  # coupons and credit held before the close
    assert answers(PreloadedWallet(engine, "t1", members), now) == before
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    after = answers(StoredWallet(engine), CLOSES)
    assert after["alice"][1]  # the close consumed alice's coupon and credit
    assert answers(PreloadedWallet(engine, "t1", members), CLOSES) == after
    assert PreloadedWallet(engine, "t1", ["bob"]).usable("alice", "t1", now) == []
