"""Settling a close and the money it shows: gross, discounts (满减, member discount, coupons,
points, red-packet credit), net.

One computation feeds the results post and `tuanbot report`, so both show the
same fen: each buyer's campaign-wide quote (priced by `quote_member`, which uses
what a close redeemed once it has), its parts split over the groups the buyer
ordered in in proportion to their spend there (largest remainder, whole fen), so
every group's figures add up and the groups add up to the campaign.

The member discount and points need `PriceExtras` (`handlers.selling.pricing.extras_of`); a
caller that passes none prices without them, as before. Points are debited at close by the
points feature's own close hook (`handlers.points.redeem`), in the close's transaction, after
this module's `settle_group` has redeemed coupons and credits: both price the same quote.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.campaign.models import SpendTier
from handlers.selling.discounts import CouponWallet
from handlers.selling.pricing import (
    NO_EXTRAS,
    PricedLine,
    PriceExtras,
    Quote,
    quote_member,
    settle_coupons,
)
from handlers.selling.store import OrderView


@dataclass(frozen=True)
class Money:
    """Money of some orders, in fen: gross (GMV) minus the kinds of discount is net."""

    gross_cents: int = 0
    tier_off_cents: int = 0
    coupon_off_cents: int = 0
    credit_off_cents: int = 0
    member_off_cents: int = 0  # 会员折扣
    points_off_cents: int = 0  # 积分抵扣

    @property
    def discount_cents(self) -> int:
        return (
            self.tier_off_cents
            + self.coupon_off_cents
            + self.credit_off_cents
            + self.member_off_cents
            + self.points_off_cents
        )

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.discount_cents

    def __add__(self, other: Money) -> Money:
        return Money(
            self.gross_cents + other.gross_cents,
            self.tier_off_cents + other.tier_off_cents,
            self.coupon_off_cents + other.coupon_off_cents,
            self.credit_off_cents + other.credit_off_cents,
            self.member_off_cents + other.member_off_cents,
            self.points_off_cents + other.points_off_cents,
        )


@dataclass(frozen=True)
class CampaignMoney:
    """Money per group and for the whole campaign (the sum of the groups)."""

    groups: dict[str, Money]
    total: Money

    def of(self, group_id: str) -> Money:
        return self.groups.get(group_id, Money())


def member_lines(orders: Iterable[OrderView]) -> dict[str, list[PricedLine]]:
    """Each member's active orders merged into priced lines (same product and price together)."""
    merged: dict[str, dict[tuple[str, int], int]] = defaultdict(dict)
    for order in orders:
        key = (order.product_code, order.unit_price_cents)
        merged[order.member_id][key] = merged[order.member_id].get(key, 0) + order.quantity
    return {
        member: [PricedLine(code, qty, price) for (code, price), qty in lines.items()]
        for member, lines in merged.items()
    }


def member_quotes(
    wallet: CouponWallet | None,
    campaign_id: str,
    tiers: Iterable[SpendTier],
    orders: Iterable[OrderView],
    at: datetime,
    *,
    extras: PriceExtras = NO_EXTRAS,
) -> dict[str, Quote]:
    """Every buyer's campaign-wide quote at `at` (a close instant, or now for a live figure).

    A perks provider that can read a campaign's settled discounts at once (`preload`) does, rather
    than one read a buyer."""
    tiers = tuple(tiers)
    preload = getattr(extras.perks, "preload", None)
    if callable(preload):
        preload(campaign_id)
    return {
        member: quote_member(wallet, member, campaign_id, lines, tiers, at, extras=extras)
        for member, lines in member_lines(orders).items()
    }


def settle_group(
    wallet: CouponWallet | None,
    campaign_id: str,
    tiers: Iterable[SpendTier],
    orders: list[OrderView],
    group_id: str,
    at: datetime,
    *,
    extras: PriceExtras = NO_EXTRAS,
) -> int:
    """At a group's close: redeem what each of its buyers' quotes at the close instant `at` applies.

    `orders` are the campaign's active orders in every group: a buyer's quote covers
    all their orders in the campaign. Returns how many coupons and credits were redeemed.
    """
    buyers = {order.member_id for order in orders if order.group_id == group_id}
    quotes = member_quotes(
        wallet, campaign_id, tiers, [o for o in orders if o.member_id in buyers], at, extras=extras
    )
    return settle_coupons(wallet, campaign_id, quotes, at)


def _split(amount: int, weights: dict[str, int]) -> dict[str, int]:
    """`amount` fen over the keys in proportion to `weights`, in whole fen that sum to `amount`."""
    total = sum(weights.values())
    if not amount or not total:
        return dict.fromkeys(weights, 0)
    shares = {key: amount * weight // total for key, weight in weights.items()}
    left = amount - sum(shares.values())
    by_remainder = sorted(weights, key=lambda k: (-(amount * weights[k] % total), k))
    for key in by_remainder[:left]:
        shares[key] += 1
    return shares


def campaign_money(orders: Iterable[OrderView], quotes: dict[str, Quote]) -> CampaignMoney:
    """Gross, discounts and net per group and in total, from the orders and each buyer's quote."""
    spend: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for order in orders:
        spend[order.member_id][order.group_id] += order.quantity * order.unit_price_cents
    groups: dict[str, Money] = defaultdict(Money)
    for member, by_group in spend.items():
        member_quote = quotes.get(member)
        parts = (
            (
                member_quote.tier_off_cents,
                member_quote.coupon_off_cents,
                member_quote.credit_off_cents,
                member_quote.member_off_cents,
                member_quote.points_off_cents,
            )
            if member_quote is not None
            else (0, 0, 0, 0, 0)
        )
        tier, coupon, credit, member_off, points_off = (_split(part, dict(by_group)) for part in parts)
        for group_id, gross in by_group.items():
            groups[group_id] += Money(
                gross,
                tier[group_id],
                coupon[group_id],
                credit[group_id],
                member_off[group_id],
                points_off[group_id],
            )
    total = sum(groups.values(), Money())
    return CampaignMoney(dict(groups), total)


def money_now(
    wallet: CouponWallet | None,
    campaign_id: str,
    tiers: Iterable[SpendTier],
    orders: list[OrderView],
    at: datetime,
    *,
    extras: PriceExtras = NO_EXTRAS,
) -> CampaignMoney:
    """The campaign's money with every buyer priced at `at` (what a close redeemed, once it has)."""
    return campaign_money(orders, member_quotes(wallet, campaign_id, tiers, orders, at, extras=extras))
