"""Tables of member tiers: the tiers each member holds now, and every promotion at a close.

`member_tiers` has one row per (member, tier) the member meets, lower tiers included (a VIP who
also meets 银卡 holds both rows), each with its own expiry: when the higher one lapses, the lower
one still runs, from memory, until the next recompute. It is derived data: recomputing from the
orders rebuilds it, so forgetting a member deletes their rows. `tier_promotions` is append-only:
one row per member raised to a higher tier, for the promotion figures. `tier_discounts` keeps
the member discount each buyer of a campaign was priced with at its first close, so that every
later quote of that campaign shows what the results post showed (`handlers.tiers.settled`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class MemberTier(SQLModel, table=True):
    """A tier a member meets, since when, until when, and what reached it.

    reached_by: "spend", "orders" or "spend+orders"; spend_cents and orders: the member's figures in
    the tier's window when it was last computed; campaign_id: the close that computed it ("" for
    `/tiers recompute`).
    """

    __tablename__ = "member_tiers"
    # Other account processes follow recomputes by their time (handlers.tiers.shared).
    __table_args__ = (Index("ix_member_tiers_computed", "computed_at", "member_id"),)

    member_id: str = Field(primary_key=True)
    tier: str = Field(primary_key=True)
    rank: int = 1
    since: datetime = utc_column()
    expires_at: datetime = utc_column()
    reached_by: str = ""
    spend_cents: int = 0
    orders: int = 0
    campaign_id: str = ""
    computed_at: datetime = utc_column()


class TierPromotion(SQLModel, table=True):
    """A member raised to a higher tier, at a close (campaign and group) or by `/tiers recompute`."""

    __tablename__ = "tier_promotions"
    __table_args__ = (Index("ix_tier_promotions_campaign", "campaign_id", "group_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: str
    tier: str
    rank: int
    previous: str = ""  # the tier held before ("" for the base tier)
    campaign_id: str = ""
    group_id: str = ""
    created_at: datetime = utc_column()


class SettledDiscount(SQLModel, table=True):
    """The member discount (会员折扣) a buyer's campaign was priced with at its first close: the
    percent and the tier's name (0 and "" for none). Written once, never updated."""

    __tablename__ = "tier_discounts"

    campaign_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    percent: int = 0
    tier: str = ""
    settled_at: datetime = utc_column()


TIERS = MemberTier.__table__  # type: ignore[attr-defined]
PROMOTIONS = TierPromotion.__table__  # type: ignore[attr-defined]
DISCOUNTS = SettledDiscount.__table__  # type: ignore[attr-defined]

__all__ = ["DISCOUNTS", "PROMOTIONS", "TIERS", "MemberTier", "SettledDiscount", "TierPromotion"]
