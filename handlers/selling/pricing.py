"""What a member pays: subtotal, spend tier (满减), member discount (会员折扣), one coupon,
points (积分抵扣) and red-packet credit, all in fen, taken off in that order.

Pricing never decides whether a coupon exists: it asks the `CouponWallet`
registered by the coupons feature (`services.find(CouponWallet)`) and,
without one, applies spend tiers only. Tiers and one coupon stack (the sample
campaign's FAQ promises 满减 and 优惠券 together). The coupon chosen is the one
worth the most that the order qualifies for; a product-limited coupon counts
only the spend on its products towards its minimum. Red-packet credit is paid
"as coupon credit" and spends like cash: every credit the member holds stacks on
top, soonest expiry first, up to what is left to pay.

Consumption: a quote only *chooses*. At close the selling feature calls
`settle_coupons` with quotes made at the close instant (`close_instant`), which
redeems each buyer's chosen coupon through the wallet's
`redeem(member_id, campaign_id, coupon_id, now) -> bool` (see `CouponRedeemer`)
and each applied credit through `redeem_credit` (see `CreditRedeemer`); wallets
must make both idempotent, since a close may be retried after a crash. Once a
close has redeemed, `quote_member` prices with what was redeemed (the wallet's
`redeemed`), so 我的订单 and the results show what was applied, not what is
still usable now.

Member discount: `MemberPerks` (registered by the tiers feature) gives a percent off what is
left after 满减; it comes before the coupon, so a coupon's minimum spend still counts the goods.

Points: a `PointsPurse` (registered by the points feature) says, per member and campaign, how
many points the member offers (their balance, once they opted in with 积分抵扣) and at what rule;
points come after the coupon and before red-packet credit (credit spends like cash, so it pays
what is left). The points part is capped by the rule's yuan cap, its share of what is due then,
and the balance; whole points are used (rounded up from the fen they take off). At close the
points feature debits them in the close's transaction and records what it took; from then on the
purse offers exactly that (`PointsOffer.settled`), like a coupon's `redeemed`. Call sites pass
both through one `PriceExtras` (`extras_of(services, conn)`); without it pricing is as before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.campaign.models import SpendTier
from handlers.selling.discounts import CouponOffer, CouponWallet, SettledWallet, bound_to
from handlers.selling.perks import MemberPerks

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from bot.context import Services


@runtime_checkable
class CouponRedeemer(Protocol):
    """Optional wallet method: mark a coupon used by this campaign's order (idempotent)."""

    def redeem(self, member_id: str, campaign_id: str, coupon_id: str, now: datetime) -> bool: ...


@runtime_checkable
class CreditRedeemer(Protocol):
    """Optional wallet method: consume one red-packet credit (by code) for a campaign (idempotent)."""

    def redeem_credit(self, member_id: str, campaign_id: str, coupon_code: str, now: datetime) -> bool: ...


@dataclass(frozen=True)
class PointsOffer:
    """What a member's points can pay in one campaign: `points` held, `rate` points per yuan, at
    most `max_cents` and `max_share` of what is due. Once `settled`, `points` is what the close
    debited and `off_cents` the fen it took off (the caps are not applied again)."""

    points: int
    rate: int = 100
    max_cents: int = 0
    max_share: float = 0.0
    settled: bool = False
    off_cents: int = 0


@runtime_checkable
class PointsPurse(Protocol):
    """Registered by the points feature: a member's points offer for a campaign, None when the
    campaign redeems no points or the member has not opted in."""

    def offer(self, member_id: str, campaign_id: str) -> PointsOffer | None: ...


@dataclass(frozen=True)
class PriceExtras:
    """The optional discounts a quote may apply besides 满减 and coupons."""

    perks: MemberPerks | None = None
    points: PointsPurse | None = None


NO_EXTRAS = PriceExtras()


def extras_of(services: Services, conn: Connection | None = None) -> PriceExtras:
    """The registered perks and points purse, each reading through `conn` (a close's transaction)
    when it can (`bound_to`), as `wallet_on` does for coupons. The perks read through the engine
    without one: the member discount a close settled (`handlers.tiers.settled`) is in the database."""
    purse = services.find(PointsPurse)  # type: ignore[type-abstract]  # a protocol is the key
    if conn is not None:
        purse = bound_to(purse, conn)
    perks = services.find(MemberPerks)  # type: ignore[type-abstract]
    return PriceExtras(bound_to(perks, conn if conn is not None else services.repo.engine), purse)


def points_part(offer: PointsOffer | None, due_cents: int) -> tuple[int, int]:
    """(points used, fen off) of `offer` against `due_cents`: the smallest of the yuan cap, the
    share of what is due and what the points are worth, paid with whole points (rounded up). A
    settled offer is what the close debited (never more off than is due)."""
    if offer is None or offer.points <= 0:
        return 0, 0
    if offer.settled:
        return offer.points, max(0, min(offer.off_cents, due_cents))
    cap = min(offer.max_cents, math.floor(due_cents * offer.max_share), due_cents)
    worth = offer.points * 100 // offer.rate  # fen the points are worth, rounded down
    off = max(0, min(cap, worth))
    return (-(-off * offer.rate // 100), off) if off else (0, 0)


def close_instant(now: datetime, closes_at: datetime) -> datetime:
    """The instant a close settles at: now for an early `/close`, `closes_at` for a late-running one.

    A close job that runs after `closes_at` (a busy or restarted bot) represents the
    close at `closes_at`, so coupons valid until the close still count.
    """
    return min(now, closes_at)


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
    credits: tuple[tuple[CouponOffer, int], ...] = ()  # (credit, fen it takes off), in use order
    settled: bool = False  # priced with what a close redeemed: final, not an estimate
    member_percent: int = 0  # 会员折扣 percent (the member's tier perk)
    member_off_cents: int = 0
    member_tier: str = ""
    points_used: int = 0  # 积分抵扣: points spent (debited at close) for points_off_cents
    points_off_cents: int = 0

    @property
    def credit_off_cents(self) -> int:
        return sum(off for _, off in self.credits)

    @property
    def total_cents(self) -> int:
        return max(
            0,
            self.subtotal_cents
            - self.tier_off_cents
            - self.member_off_cents
            - self.coupon_off_cents
            - self.points_off_cents
            - self.credit_off_cents,
        )

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


def apply_credits(offers: Iterable[CouponOffer], due_cents: int) -> tuple[tuple[CouponOffer, int], ...]:
    """Red-packet credits that pay part of `due_cents`, soonest expiry first; unneeded ones stay unused."""
    far = datetime.max.replace(tzinfo=UTC)
    used: list[tuple[CouponOffer, int]] = []
    for credit in sorted(offers, key=lambda c: (c.valid_until or far, c.coupon_code)):
        off = min(credit.amount_cents, due_cents)
        if off <= 0:
            break
        used.append((credit, off))
        due_cents -= off
    return tuple(used)


def quote(
    lines: Iterable[PricedLine],
    tiers: Iterable[SpendTier] = (),
    offers: Iterable[CouponOffer] = (),
    *,
    settled: bool = False,
    member_percent: int = 0,
    member_tier: str = "",
    points: PointsOffer | None = None,
) -> Quote:
    priced = tuple(lines)
    held = list(offers)
    subtotal = sum(line.amount_cents for line in priced)
    tier_off, tier_min = tier_discount(subtotal, tiers)
    percent = max(0, min(100, member_percent))
    member_off = max(0, subtotal - tier_off) * percent // 100
    coupon, coupon_off = best_coupon(priced, [o for o in held if not o.is_credit])
    coupon_off = min(coupon_off, max(0, subtotal - tier_off - member_off))
    due = max(0, subtotal - tier_off - member_off - coupon_off)
    points_used, points_off = points_part(points, due) if priced else (0, 0)
    due -= points_off
    credits = apply_credits((o for o in held if o.is_credit), due) if priced else ()
    return Quote(
        priced,
        subtotal,
        tier_off,
        tier_min,
        coupon if coupon_off else None,
        coupon_off,
        credits=credits,
        settled=settled or bool(points is not None and points.settled),
        member_percent=percent if member_off else 0,
        member_off_cents=member_off,
        member_tier=member_tier if member_off else "",
        points_used=points_used,
        points_off_cents=points_off,
    )


def quote_member(
    wallet: CouponWallet | None,
    member_id: str,
    campaign_id: str,
    lines: Iterable[PricedLine],
    tiers: Iterable[SpendTier],
    now: datetime,
    *,
    extras: PriceExtras = NO_EXTRAS,
) -> Quote:
    """A member's quote using the coupon wallet when the coupons feature provides one, and the
    member discount and points `extras` carries.

    After a close redeemed the member's coupon or credit for this campaign, the quote
    uses exactly what was redeemed (and says it is settled), whatever is usable now; the
    same for points the close debited (the purse's settled offer).
    """
    perks = extras.perks.perks(member_id, campaign_id) if extras.perks is not None else None
    points = extras.points.offer(member_id, campaign_id) if extras.points is not None else None
    offers: list[CouponOffer] = []
    settled = False
    if wallet is not None:
        redeemed_by = getattr(wallet, "redeemed", None)
        offers = redeemed_by(member_id, campaign_id) if callable(redeemed_by) else []
        settled = bool(offers)
        if not settled:
            offers = wallet.usable(member_id, campaign_id, now)
    return quote(
        lines,
        tiers,
        offers,
        settled=settled,
        member_percent=perks.discount_percent if perks is not None else 0,
        member_tier=perks.tier if perks is not None else "",
        points=points,
    )


def settle_coupons(
    wallet: CouponWallet | None, campaign_id: str, quotes: dict[str, Quote], now: datetime
) -> int:
    """Redeem each member's chosen coupon and applied credits at close; returns how many were redeemed.

    `quotes` must be priced at the close instant (`close_instant`), not at the time the
    close job happens to run.
    """
    if wallet is None:
        return 0
    redeemed = 0
    for member_id, member_quote in quotes.items():
        if (
            member_quote.coupon is not None
            and isinstance(wallet, CouponRedeemer)
            and wallet.redeem(member_id, campaign_id, member_quote.coupon.coupon_id, now)
        ):
            redeemed += 1
        if isinstance(wallet, CreditRedeemer):
            for credit, _ in member_quote.credits:
                if wallet.redeem_credit(member_id, campaign_id, credit.coupon_code, now):
                    redeemed += 1
    return redeemed


__all__ = [
    "NO_EXTRAS",
    "CouponRedeemer",
    "CreditRedeemer",
    "PointsOffer",
    "PointsPurse",
    "PriceExtras",
    "PricedLine",
    "Quote",
    "SettledWallet",
    "apply_credits",
    "best_coupon",
    "close_instant",
    "extras_of",
    "points_part",
    "quote",
    "quote_member",
    "settle_coupons",
    "tier_discount",
]
