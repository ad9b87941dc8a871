"""Which tiers a member's purchases reach, and until when (pure: no database, no clock).

A tier is met when, within its last `days` days, the member spent at least `spend_yuan` OR bought
in at least `orders` sales (distinct campaigns: ten order messages in one sale are one purchase,
so nobody climbs a tier by splitting a basket) OR had at least `invites` invites credited by
推荐有礼. Spend is price × quantity in fen, before coupons, 满减 and member discounts, like order
points.

Each tier met gets its exact expiry: the moment, with no new purchase, the oldest purchases it
rests on leave the window. So perks can end on time from memory, with no recompute between
closes, and a member whose VIP lapses may still hold the tier below it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config_tiers import Tier

SPEND = "spend"
ORDERS = "orders"
INVITES = "invites"


@dataclass(frozen=True)
class Purchase:
    """One counted order line: a committed, non-cancelled order of a closed sale."""

    campaign_id: str
    cents: int
    at: datetime


@dataclass(frozen=True)
class Held:
    """A tier a member meets now: until when, by what, and the figures in its window."""

    rank: int  # 1 = the lowest declared tier
    name: str
    expires_at: datetime
    reached_by: str  # "spend", "orders" or "spend+orders"
    spend_cents: int
    orders: int
    since: datetime | None = None  # since when the member holds it without a break (stored rows)


@dataclass(frozen=True)
class Totals:
    """Spend (fen) and sales bought in within one window."""

    spend_cents: int
    orders: int


def _recent(purchases: Iterable[Purchase], days: int, now: datetime) -> list[Purchase]:
    """Purchases inside the window (now - days, now], newest first."""
    start = now - timedelta(days=days)
    return sorted((p for p in purchases if start < p.at <= now), key=lambda p: p.at, reverse=True)


def totals(purchases: Iterable[Purchase], days: int, now: datetime) -> Totals:
    """What counts toward a tier with this window, now."""
    recent = _recent(purchases, days, now)
    return Totals(sum(p.cents for p in recent), len({p.campaign_id for p in recent}))


def _spend_until(recent: Sequence[Purchase], cents: int, days: int) -> datetime | None:
    """When the spend criterion stops holding: the newest purchases that reach `cents` together
    keep it until the oldest of them leaves the window; None when not met."""
    running = 0
    for purchase in recent:
        running += purchase.cents
        if running >= cents:
            return purchase.at + timedelta(days=days)
    return None


def _orders_until(recent: Sequence[Purchase], count: int, days: int) -> datetime | None:
    """When the sales criterion stops holding: the `count`-th newest sale's last purchase leaves."""
    latest: dict[str, datetime] = {}
    for purchase in recent:
        latest.setdefault(purchase.campaign_id, purchase.at)  # newest first: the first seen is the latest
    ordered = sorted(latest.values(), reverse=True)
    return ordered[count - 1] + timedelta(days=days) if len(ordered) >= count else None


def _invites_until(credited: Iterable[datetime], count: int, days: int, now: datetime) -> datetime | None:
    """When the invites criterion stops holding: the `count`-th newest credited invite leaves."""
    start = now - timedelta(days=days)
    recent = sorted((at for at in credited if start < at <= now), reverse=True)
    return recent[count - 1] + timedelta(days=days) if len(recent) >= count else None


def meets(
    tier: Tier, rank: int, purchases: Iterable[Purchase], now: datetime, invites: Sequence[datetime] = ()
) -> Held | None:
    """The tier as the member holds it now (spend OR sales OR credited invites within its days),
    or None. `invites`: when each of the member's invites was credited."""
    recent = _recent(purchases, tier.days, now)
    spend_cents, threshold = sum(p.cents for p in recent), tier.spend_cents
    by: dict[str, datetime] = {}
    if threshold is not None and (until := _spend_until(recent, threshold, tier.days)) is not None:
        by[SPEND] = until
    if tier.orders is not None and (until := _orders_until(recent, tier.orders, tier.days)) is not None:
        by[ORDERS] = until
    if (
        tier.invites is not None
        and (until := _invites_until(invites, tier.invites, tier.days, now)) is not None
    ):
        by[INVITES] = until
    if not by:
        return None
    sales = len({p.campaign_id for p in recent})
    return Held(rank, tier.name, max(by.values()), "+".join(by), spend_cents, sales)


def standing(
    tiers: Sequence[Tier], purchases: Sequence[Purchase], now: datetime, invites: Sequence[datetime] = ()
) -> list[Held]:
    """Every declared tier the member meets now, lowest first (empty: the base tier)."""
    held = (meets(tier, rank, purchases, now, invites) for rank, tier in enumerate(tiers, start=1))
    return [h for h in held if h is not None]


def current(held: Iterable[Held], now: datetime) -> Held | None:
    """The highest tier still running at `now` (a higher one may lapse before a lower one)."""
    running = [h for h in held if now < h.expires_at]
    return max(running, key=lambda h: h.rank) if running else None


__all__ = [
    "INVITES",
    "ORDERS",
    "SPEND",
    "Held",
    "Purchase",
    "Totals",
    "current",
    "meets",
    "standing",
    "totals",
]
