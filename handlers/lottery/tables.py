"""Tables of the lottery: one row per lottery, and the frozen entrant list of a drawn one.

The seed sits in the lottery's row from `/lottery start` on (a restart loses nothing); only its
SHA-256 is shown before the draw. `open_key` is the group id while the lottery is open and NULL
after, so its unique key allows one open lottery per group (NULLs never collide, on SQLite and
PostgreSQL alike) while any number of drawn or cancelled ones stay on record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column

OPEN = "open"
DRAWN = "drawn"
CANCELLED = "cancelled"


class LotteryDraw(SQLModel, table=True):
    """One lottery: its terms fixed at start, its seed, and how it ended.

    status: open -> drawn | cancelled, each by one conditional UPDATE (so once).
    """

    __tablename__ = "lottery_draws"
    __table_args__ = (
        UniqueConstraint("open_key", name="uq_lottery_open_per_group"),
        Index("ix_lottery_group", "group_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    group_id: str
    started_by: str
    started_at: datetime = utc_column()
    winners: int  # how many win
    pool: str  # buyers | checkins
    prize_coupon_id: str = ""  # a coupon of the campaign's `coupons:`, or
    prize_points: int = 0  # points through the points ledger
    seed: str  # secret until the draw (or a cancel) publishes it
    commitment: str  # sha256(seed) hex, posted at start
    status: str = OPEN
    open_key: str | None = None
    entrants: int = 0  # the list's length, fixed at the draw
    ended_at: datetime | None = utc_column(nullable=True)


class LotteryEntry(SQLModel, table=True):
    """One line of a drawn lottery's published list; `rank` and `prize_ref` for the winners.

    `prize_ref` is the coupon code issued or the points ledger's ref: what was paid, once.
    """

    __tablename__ = "lottery_entries"
    __table_args__ = (UniqueConstraint("lottery_id", "member_id", name="uq_lottery_entry_member"),)

    lottery_id: int = Field(primary_key=True)
    number: int = Field(primary_key=True)  # 1..n, the canonical order
    member_id: str
    member_name: str = ""
    rank: int | None = None  # 1..k for the winners, in the snippet's order
    prize_ref: str = ""


DRAWS = LotteryDraw.__table__  # type: ignore[attr-defined]
ENTRIES = LotteryEntry.__table__  # type: ignore[attr-defined]

__all__ = ["CANCELLED", "DRAWN", "DRAWS", "ENTRIES", "OPEN", "LotteryDraw", "LotteryEntry"]
