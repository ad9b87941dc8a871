"""The contract between pricing (orders) and coupons (engagement).

Pricing asks a `CouponWallet` which coupons a member could use; the coupons
feature provides the wallet and registers it with `services.provide(wallet, CouponWallet)`.
Without a wallet, orders are priced with spend tiers (满减) only.

Validity is inclusive of its end: a coupon "valid until close" is still valid at
the close instant, which is exactly when the close settles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from bot.context import Services

T = TypeVar("T")


@dataclass(frozen=True)
class CouponOffer:
    """A coupon a member holds, as pricing needs to see it (amounts in cents)."""

    coupon_code: str
    coupon_id: str
    title: str
    amount_cents: int
    min_spend_cents: int
    valid_until: datetime | None
    product_codes: tuple[str, ...] = ()
    source: str = "keyword"  # keyword | join | redpacket

    @property
    def is_credit(self) -> bool:
        """Red-packet credit: stacks with the one coupon, like cash (see `handlers.selling.pricing`)."""
        return self.source == "redpacket"


class CouponWallet(Protocol):
    def usable(self, member_id: str, campaign_id: str, now: datetime) -> list[CouponOffer]:
        """Unused coupons of this member valid at `now` (ends inclusive) for this campaign."""
        ...


class SettledWallet(Protocol):
    """Optional wallet method: what a campaign's close already consumed for this member."""

    def redeemed(self, member_id: str, campaign_id: str) -> list[CouponOffer]:
        """The coupon and credit consumed by `campaign_id` for this member (empty before close)."""
        ...


def wallet_of(services: Services) -> CouponWallet | None:
    """The coupons feature's wallet, if it is installed; without it orders get 满减 only."""
    return services.find(CouponWallet)  # type: ignore[type-abstract]  # a protocol is the key


def bound_to(provider: T, source: Engine | Connection) -> T:
    """`provider` reading through `source` (a close's claim transaction, whose own writes it must
    see, or the engine) when it can (`on(source)`: the wallet, the points purse, the tiers' perks);
    a provider without `on` is used as it is."""
    bind = getattr(provider, "on", None)
    return bind(source) if callable(bind) else provider


def wallet_on(services: Services, conn: Connection) -> CouponWallet | None:
    """The wallet reading and redeeming through `conn` (a close's claim transaction), if it can."""
    return bound_to(wallet_of(services), conn)
