"""What a member's standing (a tier such as VIP) changes in selling, asked through one seam.

Why a seam: tiers are their own feature (`handlers/tiers/`), and selling must not import it.
Selling asks `services.find(MemberPerks)` while building an order and a quote; with no
provider registered every member has `NO_PERKS`, so selling behaves as before. Providers
answer from memory: this is asked on the event loop for every order message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["NO_PERKS", "MemberPerks", "Perks"]


@dataclass(frozen=True)
class Perks:
    """A member's perks in one campaign.

    early_minutes: the member may order this many minutes before T-0 (优先抢购权).
    extra_limit: units added to each product's per-member limit (a limit of 0 stays unlimited).
    discount_percent: percent off the member's subtotal after 满减, before coupons (会员折扣).
    tier: the tier's name for replies and reports ("" for none).
    """

    early_minutes: int = 0
    extra_limit: int = 0
    discount_percent: int = 0
    tier: str = ""


NO_PERKS = Perks()


@runtime_checkable
class MemberPerks(Protocol):
    """Registered by the tiers feature (`services.provide(provider, MemberPerks)`)."""

    def perks(self, member_id: str, campaign_id: str) -> Perks: ...
