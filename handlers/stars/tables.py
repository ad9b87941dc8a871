"""Tables of 活跃之星: leaders' helpful marks, each group's finished weeks, and the stars.

* `star_helpful_marks`: one row per (group, member, leader, local day): a leader marking the same
  member twice a day counts once, so marks cannot be farmed.
* `star_weeks`: one row per (group, week) the weekly job finished. Inserting it is the claim: the
  job that inserts it pays and announces, in the same transaction; a rerun, a second process or a
  restart finds the row and does nothing.
* `star_awards`: the stars of each week, with their score and points (the ledger holds the points
  themselves, under reason `star`, ref `star:<group>:<week>`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class StarHelpfulMark(SQLModel, table=True):
    """A leader (`marked_by`, by id) marked `member_id`'s answer helpful on local `day`."""

    __tablename__ = "star_helpful_marks"
    __table_args__ = (
        UniqueConstraint("group_id", "member_id", "marked_by", "day", name="uq_star_mark_daily"),
        Index("ix_star_marks_group_time", "group_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: str
    member_id: str
    marked_by: str
    day: str  # local date, 2026-12-06
    created_at: datetime = utc_column()


class StarWeek(SQLModel, table=True):
    """A (group, week) the weekly job finished; `stars` how many it named (0: nobody qualified)."""

    __tablename__ = "star_weeks"

    group_id: str = Field(primary_key=True)
    week: str = Field(primary_key=True)  # local date the week ended
    stars: int = 0
    created_at: datetime = utc_column()


class StarAward(SQLModel, table=True):
    """One star of a group's week."""

    __tablename__ = "star_awards"
    __table_args__ = (UniqueConstraint("group_id", "week", "member_id", name="uq_star_award"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: str
    week: str
    member_id: str
    rank: int
    score: int
    points: int = 0
    week_start: datetime = utc_column()
    week_end: datetime = utc_column()
    created_at: datetime = utc_column()


MARKS = StarHelpfulMark.__table__  # type: ignore[attr-defined]
WEEKS = StarWeek.__table__  # type: ignore[attr-defined]
AWARDS = StarAward.__table__  # type: ignore[attr-defined]
TABLES = [MARKS, WEEKS, AWARDS]

__all__ = ["AWARDS", "MARKS", "TABLES", "WEEKS", "StarAward", "StarHelpfulMark", "StarWeek"]
