"""The contract between pricing (orders) and coupons (engagement).

Pricing asks a `CouponWallet` which coupons a member could use; the coupons
feature provides the wallet and registers it as `services.features["coupon_wallet"]`.
Without a wallet, orders are priced with spend tiers (满减) only.
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


class CouponWallet(Protocol):
    def usable(self, member_id: str, campaign_id: str, now: datetime) -> list[CouponOffer]:
        """Unused, unexpired coupons of this member valid for this campaign."""
        ...
