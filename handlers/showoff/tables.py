"""Tables of 晒单有礼: one row per buyer who posted a picture, and one counter per campaign.

The entry's unique key (campaign, member) makes a buyer count once, however many pictures they
post and however many processes see them. The counter decides who is among the first N: it is
raised by one conditional UPDATE (`taken < first`) in the transaction that writes the entry, so
exactly N entries get a rank, in the order their transactions commit (PostgreSQL holds the
counter row's lock until commit; SQLite has one writer at a time).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class ShowoffEntry(SQLModel, table=True):
    """A buyer's first picture after closing; `rank` 1..N if it was among the first N (rewarded).

    `reward_ref` says what was paid, once: the coupon code and/or the points ledger's ref.
    """

    __tablename__ = "showoff_entries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", name="uq_showoff_entry_member"),
        Index("ix_showoff_group", "campaign_id", "group_id", "rank"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    member_id: str
    group_id: str
    member_name: str = ""
    rank: int | None = None
    coupon_code: str = ""
    points: int = 0
    created_at: datetime = utc_column()


class ShowoffCounter(SQLModel, table=True):
    """How many of a campaign's first-N rewards are taken."""

    __tablename__ = "showoff_counters"

    campaign_id: str = Field(primary_key=True)
    taken: int = 0


ENTRIES = ShowoffEntry.__table__  # type: ignore[attr-defined]
COUNTERS = ShowoffCounter.__table__  # type: ignore[attr-defined]

__all__ = ["COUNTERS", "ENTRIES", "ShowoffCounter", "ShowoffEntry"]
