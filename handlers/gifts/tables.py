"""Tables of 前N名下单赠礼: one row per member in a campaign's line, one counter per campaign.

The entry's unique key (campaign, member) gives each member one place in the line and at most
one gift per campaign. The counter row is the lock that orders every decision: each order batch
that touches the campaign locks it (SELECT … FOR UPDATE on PostgreSQL; SQLite has one writer at
a time) before it reads the line, so places (`pos`) and gift numbers (`seq`) follow the order
in which the batches commit, across groups and processes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column

GIVEN = "given"  # holds gift number `seq`
WAITING = "waiting"  # in line, no gift (yet): a passed gift goes to the first of these
LEFT = "left"  # was waiting, then cancelled every order: a new order puts them back in line
WITHDRAWN = "withdrawn"  # had a gift, then cancelled every order: never gifted again this campaign


class GiftEntry(SQLModel, table=True):
    """A member's place in a campaign's line (`pos`, by the commit of their first counting order)
    and, once gifted, the gift number `seq` (第几名, 1..N) and what was paid."""

    __tablename__ = "gift_entries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", name="uq_gift_entry_member"),
        Index("ix_gift_entries_line", "campaign_id", "status", "pos"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    member_id: str
    group_id: str  # where the first counting order was placed
    member_name: str = ""  # as the order carried it (already safe for a group)
    pos: int  # place in line: 1 for the first member whose counting order committed
    order_id: int = 0  # that member's first counting order (orders.id)
    status: str = WAITING
    seq: int | None = None  # gift number while GIVEN (kept after WITHDRAWN, for the record)
    passed: bool = False  # the gift came to them from a member who cancelled (on_cancel: pass)
    passed_on: bool = False  # WITHDRAWN, and its number went back to the line (on_cancel: pass)
    coupon_code: str = ""
    points: int = 0
    created_at: datetime = utc_column()
    gifted_at: datetime | None = utc_column(nullable=True)
    withdrawn_at: datetime | None = utc_column(nullable=True)


class GiftCounter(SQLModel, table=True):
    """A campaign's counters: places handed out, gift numbers used, gifts passed on, and whether
    the 「送完」 post was queued."""

    __tablename__ = "gift_counters"

    campaign_id: str = Field(primary_key=True)
    first: int = 0  # N as the latest batch applied it (the file may change it)
    seen: int = 0  # places handed out (pos of the latest member in line)
    given: int = 0  # gift numbers 1..given have been used
    passed: int = 0  # gifts moved to the next member after a cancellation
    lost: int = 0  # gifts withdrawn and not passed on (on_cancel: keep)
    free: int = 0  # numbers freed by a cancellation (pass) that nobody in line could take yet
    announced: bool = False  # 「前N名赠礼已送完」 queued to the groups


ENTRIES = GiftEntry.__table__  # type: ignore[attr-defined]
COUNTERS = GiftCounter.__table__  # type: ignore[attr-defined]

__all__ = ["COUNTERS", "ENTRIES", "GIVEN", "LEFT", "WAITING", "WITHDRAWN", "GiftCounter", "GiftEntry"]
