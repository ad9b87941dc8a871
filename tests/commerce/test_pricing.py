"""Pricing: spend tiers, the best coupon from a wallet, settlement at close."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.campaign.models import SpendTier
from handlers.selling.discounts import CouponOffer
from handlers.selling.pricing import PricedLine, quote, quote_member, settle_coupons, tier_discount

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TIERS = [
    SpendTier(min_spend=Decimal(100), off=Decimal(10)),
    SpendTier(min_spend=Decimal(200), off=Decimal(30)),
]


def offer(code: str, amount: int, min_spend: int = 0, products: tuple[str, ...] = ()) -> CouponOffer:
    return CouponOffer(code, code.lower(), f"券{code}", amount, min_spend, None, products)


def test_tiers_pick_the_best_reached() -> None:
    assert tier_discount(9999, TIERS) == (0, 0)
    assert tier_discount(10000, TIERS) == (1000, 10000)
    assert tier_discount(25000, TIERS) == (3000, 20000)


def test_tier_and_best_qualifying_coupon_stack() -> None:
    lines = [PricedLine("A1", 2, 5990), PricedLine("A2", 1, 3990)]  # 159.70
    q = quote(
        lines, TIERS, [offer("BIG", 2000, 50000), offer("STRAW", 800, 5000, ("A1",)), offer("ANY", 500)]
    )
    assert q.subtotal_cents == 15970 and q.tier_off_cents == 1000
    assert q.coupon is not None and q.coupon.coupon_code == "STRAW" and q.coupon_off_cents == 800
    assert q.total_cents == 15970 - 1000 - 800


def test_product_coupon_needs_spend_on_its_products() -> None:
    q = quote([PricedLine("A2", 3, 3990)], [], [offer("STRAW", 800, 5000, ("A1",))])
    assert q.coupon is None and q.total_cents == 11970


def test_never_below_zero() -> None:
    q = quote([PricedLine("A3", 1, 300)], [], [offer("X", 1000)])
    assert q.total_cents == 0 and q.coupon_off_cents == 300


class FakeWallet:
    def __init__(self) -> None:
        self.redeemed: list[tuple[str, str, str]] = []

    def usable(self, member_id: str, campaign_id: str, now: datetime) -> list[CouponOffer]:
        return [offer("NEW", 500, 3000)] if member_id == "alice" else []

    def redeem(self, member_id: str, campaign_id: str, coupon_id: str, now: datetime) -> bool:
        self.redeemed.append((member_id, campaign_id, coupon_id))
        return True


def test_wallet_is_used_when_registered_and_settled_at_close() -> None:
    wallet = FakeWallet()
    lines = [PricedLine("A1", 1, 5990)]
    assert (
        quote_member(None, "alice", "c", lines, TIERS, NOW).coupon is None
    )  # no coupons feature: tiers only
    alice = quote_member(wallet, "alice", "c", lines, TIERS, NOW)
    bob = quote_member(wallet, "bob", "c", lines, TIERS, NOW)
    assert alice.total_cents == 5490 and bob.total_cents == 5990
    assert settle_coupons(wallet, "c", {"alice": alice, "bob": bob}, NOW) == 1
    assert wallet.redeemed == [("alice", "c", "new")]
