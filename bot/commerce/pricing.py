"""What a member pays: subtotal, spend tier (满减) and at most one coupon, all in fen.

Pricing never decides whether a coupon exists: it asks the `CouponWallet`
registered by the coupons feature (`services.features["coupon_wallet"]`) and,
without one, applies spend tiers only. Tiers and one coupon stack (the sample
campaign's FAQ promises 满减 and 优惠券 together). The coupon chosen is the one
worth the most that the order qualifies for; a product-limited coupon counts
only the spend on its products towards its minimum.

Consumption: a quote only *chooses* a coupon. At close the selling feature
calls `settle_coupons`, which redeems each buyer's chosen coupon if the wallet
offers `redeem(member_id, campaign_id, coupon_id, now) -> bool` (see
`CouponRedeemer`); wallets must make that idempotent, since a close may be
retried after a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bot.campaign.models import SpendTier
from bot.commerce.discounts import CouponOffer, CouponWallet


@runtime_checkable
class CouponRedeemer(Protocol):
    """Optional wallet method: mark a coupon used by this campaign's order (idempotent)."""

    def redeem(self, member_id: str, campaign_id: str, coupon_id: str, now: datetime) -> bool: ...


@dataclass(frozen=True)
class PricedLine:
    product_code: str
    quantity: int
    unit_price_cents: int

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class Quote:
    lines: tuple[PricedLine, ...]
    subtotal_cents: int
    tier_off_cents: int = 0
    tier_min_cents: int = 0
    coupon: CouponOffer | None = None
    coupon_off_cents: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def total_cents(self) -> int:
        return max(0, self.subtotal_cents - self.tier_off_cents - self.coupon_off_cents)

    @property
    def discount_cents(self) -> int:
        return self.subtotal_cents - self.total_cents


def tier_discount(subtotal_cents: int, tiers: Iterable[SpendTier]) -> tuple[int, int]:
    """(off, min_spend) of the best tier reached, in fen; (0, 0) when none is."""
    best = (0, 0)
    for tier in tiers:
        minimum = int(tier.min_spend * 100)
        off = int(tier.off * 100)
        if subtotal_cents >= minimum and off > best[0]:
            best = (off, minimum)
    return best


def best_coupon(lines: Iterable[PricedLine], offers: Iterable[CouponOffer]) -> tuple[CouponOffer | None, int]:
    """The coupon worth the most for these lines, and what it takes off (in fen)."""
    priced = list(lines)
    best: tuple[CouponOffer | None, int] = (None, 0)
    for offer in offers:
        eligible = sum(
            line.amount_cents
            for line in priced
            if not offer.product_codes or line.product_code in offer.product_codes
        )
        if eligible <= 0 or eligible < offer.min_spend_cents:
            continue
        off = min(offer.amount_cents, eligible)
        if off > best[1]:
            best = (offer, off)
    return best


def quote(
    lines: Iterable[PricedLine],
    tiers: Iterable[SpendTier] = (),
    offers: Iterable[CouponOffer] = (),
) -> Quote:
    priced = tuple(lines)
    subtotal = sum(line.amount_cents for line in priced)
    tier_off, tier_min = tier_discount(subtotal, tiers)
    coupon, coupon_off = best_coupon(priced, offers)
    coupon_off = min(coupon_off, max(0, subtotal - tier_off))
    return Quote(priced, subtotal, tier_off, tier_min, coupon if coupon_off else None, coupon_off)


def wallet_of(features: dict[str, Any]) -> CouponWallet | None:
    wallet = features.get("coupon_wallet")
    return wallet if wallet is not None and hasattr(wallet, "usable") else None


def quote_member(
    features: dict[str, Any],
    member_id: str,
    campaign_id: str,
    lines: Iterable[PricedLine],
    tiers: Iterable[SpendTier],
    now: datetime,
) -> Quote:
    """A member's quote using the coupon wallet when the coupons feature provides one."""
    wallet = wallet_of(features)
    offers = wallet.usable(member_id, campaign_id, now) if wallet is not None else []
    return quote(lines, tiers, offers)


def settle_coupons(
    features: dict[str, Any], campaign_id: str, quotes: dict[str, Quote], now: datetime
) -> int:
    """Redeem each member's chosen coupon at close; returns how many were redeemed."""
    wallet = wallet_of(features)
    if wallet is None or not isinstance(wallet, CouponRedeemer):
        return 0
    redeemed = 0
    for member_id, member_quote in quotes.items():
        if member_quote.coupon is not None and wallet.redeem(
            member_id, campaign_id, member_quote.coupon.coupon_id, now
        ):
            redeemed += 1
    return redeemed
