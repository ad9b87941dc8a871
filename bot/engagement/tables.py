"""Tables of the engagement features.

Atomicity lives in the schema where it can: a coupon's per-member limit is a
unique key on (campaign, coupon, member, slot), one red-packet win per member
is a unique key on (burst, member), and "the coupon is gone" is announced by
whoever manages to insert the notice row. Counters (quota, packets left) are
moved with conditional UPDATEs whose row count says whether the claim won, so
the same code holds on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
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


class RedPacketBurstRow(SQLModel, table=True):
    """One red-packet burst in one group; the split is drawn when it starts and kept for audit."""

    __tablename__ = "engagement_redpacket_bursts"
    __table_args__ = (Index("ix_engagement_burst_group", "group_id", "opened_at"),)

    id: str = Field(primary_key=True)
    group_id: str
    campaign_id: str = ""
    node_id: str = ""
    keyword: str = "抢"
    packets: int
    budget_cents: int
    shares: str = Field(default="", sa_column=Column(Text, nullable=False))  # JSON list of cents
    grabbed: int = 0
    status: str = "open"  # open | closed
    started_by: str = ""
    opened_at: datetime = utc_column()
    closes_at: datetime = utc_column()
    closed_at: datetime | None = utc_column(nullable=True)
    credit_until: datetime | None = utc_column(nullable=True)


class RedPacketGrab(SQLModel, table=True):
    """A winning grab: the n-th packet of a burst, its share and the coupon that pays it."""

    __tablename__ = "engagement_redpacket_grabs"
    __table_args__ = (
        UniqueConstraint("burst_id", "member_id", name="uq_engagement_grab_member"),
        UniqueConstraint("burst_id", "seq", name="uq_engagement_grab_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    burst_id: str = Field(index=True)
    seq: int
    member_id: str
    member_name: str = ""
    amount_cents: int
    coupon_code: str = ""
    grabbed_at: datetime = utc_column()


class WelcomeSettings(SQLModel, table=True):
    """A group's welcome: on or off, and a leader's custom template (Jinja source) if any."""

    __tablename__ = "engagement_welcome_settings"

    group_id: str = Field(primary_key=True)
    enabled: bool = True
    template: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_by: str = ""
    updated_at: datetime = utc_column()


class PendingWelcome(SQLModel, table=True):
    """A newcomer named in the group's next (still queued) welcome; `outbox_id` is that post."""

    __tablename__ = "engagement_welcome_pending"

    group_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    name: str = ""
    inviter_name: str = ""
    added_at: datetime = utc_column()
    outbox_id: int | None = None


class FaqCustom(SQLModel, table=True):
    """An FAQ entry a leader added in chat (`/faq add 问题 | 答案`) for one group."""

    __tablename__ = "engagement_faq_custom"

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(index=True)
    question: str = Field(default="", sa_column=Column(Text, nullable=False))
    answer: str = Field(default="", sa_column=Column(Text, nullable=False))
    added_by: str = ""
    added_at: datetime = utc_column()


class FaqUnanswered(SQLModel, table=True):
    """A question addressed to the bot that matched nothing, kept for the leaders."""

    __tablename__ = "engagement_faq_unanswered"
    __table_args__ = (Index("ix_engagement_faq_unanswered_group", "group_id", "asked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: str
    member_id: str
    member_name: str = ""
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    asked_at: datetime = utc_column()
