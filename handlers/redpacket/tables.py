"""Tables of the redpacket feature (atomic claims live in their unique keys and conditional UPDATEs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


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
