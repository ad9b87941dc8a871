"""The contract between pricing (orders) and coupons (engagement).

Pricing asks a `CouponWallet` which coupons a member could use; the coupons
feature provides the wallet and registers it as `services.features["coupon_wallet"]`.
Without a wallet, orders are priced with spend tiers (满减) only.

Validity is inclusive of its end: a coupon "valid until close" is still valid at
the close instant, which is exactly when the close settles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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
