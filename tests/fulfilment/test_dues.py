"""What each member owes equals selling's quote (满减, coupon, red-packet credit), and after-sales
refunds and resends move the member's and the campaign's net to the fen."""

from __future__ import annotations

from pathlib import Path

from handlers.fulfilment.adjustments import adjustments_of, record_adjustment
from handlers.fulfilment.dues import (
    campaign_dues,
    campaign_net,
    has_money_rows,
    member_due,
    record_payment,
)
from handlers.selling.discounts import wallet_of
from handlers.selling.settlement import money_now
from tests.commerce.selling_kit import CLOSES
from tests.fakes import FakeClock
from tests.fulfilment.payment_kit import G1, G2, campaign, close, orders, redeemed, shop_for


async def test_dues_equal_the_settled_quote_with_tier_coupon_and_credit(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    await close(shop)
    assert sorted(redeemed(shop)) == ["alice", "alice"]  # coupon and credit settled at close
    services, camp = shop.app.services, campaign(shop)
    alice = member_due(services, camp, "alice")
    assert alice is not None
    quote, _ = shop.sell.member_quote(camp, "alice")
    assert alice.quote == quote and quote.settled
    assert (alice.quote.subtotal_cents, alice.quote.coupon_off_cents, alice.quote.credit_off_cents) == (
        2000,
        800,
        300,
    )
    assert alice.net_cents == 900 and alice.owed_cents == 900 and not alice.paid
    assert alice.lines == (("A1", "丹东草莓", 2, 2000),)
    bob = member_due(services, camp, "bob")
    assert bob is not None and bob.quote.tier_off_cents == 500 and bob.net_cents == 2550
    assert member_due(services, camp, "nobody") is None
    dues = campaign_dues(services, camp)
    assert {m: d.net_cents for m, d in dues.items()} == {"alice": 900, "bob": 2550, "carol": 2500}
    assert set(campaign_dues(services, camp, group_ids=[G2])) == {"carol"}
    orders_now = shop.sell.store.orders("t1")
    money = money_now(wallet_of(services), "t1", camp.spend_tiers, orders_now, CLOSES)
    assert campaign_net(services, camp) == money.total.net_cents == 900 + 2550 + 2500
    assert set(campaign_dues(services, camp, group_ids=[G1])) == {"alice", "bob"}


async def test_a_refund_changes_member_and_campaign_net_to_the_fen(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    await close(shop)
    services, camp = shop.app.services, campaign(shop)
    before = campaign_net(services, camp)
    with services.repo.engine.begin() as conn:
        record_adjustment(conn, "t1", "alice", "refund", 199, 12, "lily", clock.now())
        record_adjustment(conn, "t1", "bob", "resend", 1000, 13, "lily", clock.now())
    alice, bob = member_due(services, camp, "alice"), member_due(services, camp, "bob")
    assert alice is not None and bob is not None
    assert alice.refunded_cents == 199 and alice.net_cents == 701 and alice.owed_cents == 701
    assert bob.resent_cents == 1000 and bob.net_cents == 2550  # a resend is the leader's cost
    assert campaign_net(services, camp) == before - 199 - 1000
    with services.repo.engine.begin() as conn:  # the same ticket again replaces, never adds
        record_adjustment(conn, "t1", "alice", "refund", 250, 12, "lily", clock.now())
    assert adjustments_of(services.repo.engine, "t1") == {"alice": (250, 0), "bob": (0, 1000)}
    assert campaign_net(services, camp) == before - 250 - 1000
    with services.repo.engine.begin() as conn:  # a refund past the total floors the net at 0
        record_adjustment(conn, "t1", "alice", "refund", 5000, 12, "lily", clock.now())
    alice = member_due(services, camp, "alice")
    assert alice is not None and alice.net_cents == 0 and alice.paid


async def test_record_payment_is_idempotent_per_member(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    await close(shop)
    services, camp = shop.app.services, campaign(shop)
    with services.repo.engine.begin() as conn:
        assert record_payment(conn, "t1", "bob", 2550, "lily", "leader", clock.now())
        assert not record_payment(conn, "t1", "bob", 2550, "lily", "leader", clock.now())
    bob = member_due(services, camp, "bob")
    assert bob is not None and bob.paid and bob.owed_cents == 0 and bob.paid_cents == 2550


async def test_money_rows_are_found_per_member_and_campaign(tmp_path: Path, clock: FakeClock) -> None:
    """我的订单 skips the quote while a member has no payment, refund or resend row (issue 14)."""
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    engine = shop.app.services.repo.engine
    assert not any(has_money_rows(engine, "t1", m) for m in ("alice", "bob", "carol"))
    with engine.begin() as conn:
        record_payment(conn, "t1", "alice", 900, "lily", "wechat", clock.now())
        record_adjustment(conn, "t1", "bob", "resend", 1000, 13, "lily", clock.now())
    assert has_money_rows(engine, "t1", "alice") and has_money_rows(engine, "t1", "bob")
    assert not has_money_rows(engine, "t1", "carol")
    assert not has_money_rows(engine, "other-campaign", "alice")
