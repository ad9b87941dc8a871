"""Tables of the coupons feature (atomic claims live in their unique keys and conditional UPDATEs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class CouponRow(SQLModel, table=True):
    """One issued coupon. `slot` (1..per_member) makes the per-member limit a unique key.

    status: issued -> consumed (once; `consumed_ref` says by what). Expiry is
    not a status: a coupon is usable while `valid_from <= now <= valid_until` (its end included).
    """

    __tablename__ = "engagement_coupons"
    __table_args__ = (
        UniqueConstraint("code", name="uq_engagement_coupon_code"),
        UniqueConstraint("campaign_id", "coupon_id", "member_id", "slot", name="uq_engagement_coupon_slot"),
        Index("ix_engagement_coupon_member", "member_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str
    campaign_id: str = ""
    coupon_id: str
    group_id: str = ""
    member_id: str
    slot: int = 1
    source: str = "keyword"  # keyword | join | redpacket
    source_ref: str = ""
    amount_cents: int
    min_spend_cents: int = 0
    products: str = ""  # comma-separated product codes; empty = any product
    issued_at: datetime = utc_column()
    valid_from: datetime = utc_column()
    valid_until: datetime | None = utc_column(nullable=True)
    status: str = "issued"
    consumed_at: datetime | None = utc_column(nullable=True)
    consumed_ref: str = ""


class CouponRedemption(SQLModel, table=True):
    """The one coupon a member used on a campaign's orders; the key makes redemption once."""

    __tablename__ = "engagement_coupon_redemptions"

    campaign_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    coupon_code: str = ""
    redeemed_at: datetime = utc_column()


class CouponCounter(SQLModel, table=True):
    """How many of one campaign coupon were issued; the quota itself comes from the campaign file."""

    __tablename__ = "engagement_coupon_counters"

    campaign_id: str = Field(primary_key=True)
    coupon_id: str = Field(primary_key=True)
    issued: int = 0


class CouponNotice(SQLModel, table=True):
    """A one-off notice already posted in a group (e.g. "草莓券已领完"); the key makes it once."""

    __tablename__ = "engagement_coupon_notices"

    campaign_id: str = Field(primary_key=True)
    coupon_id: str = Field(primary_key=True)
    group_id: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    posted_at: datetime = utc_column()
