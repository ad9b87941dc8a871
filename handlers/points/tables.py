"""Tables of the points feature: the ledger (one row per credit or debit), each member's balance,
each member's check-in streak, and each member's 积分抵扣 choice and settlement per campaign.

The ledger's unique key (member, reason, ref) makes every award idempotent: a second credit of
the same thing inserts nothing. The balance row is changed in the same transaction as its ledger
row, so the balance always equals the sum of the member's ledger rows, and a debit is one
conditional UPDATE that cannot take it below zero (handlers/points/ledger.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class PointsLedgerRow(SQLModel, table=True):
    """One credit (points > 0) or debit (points < 0). Never updated, never deleted.

    reason: checkin | order | showoff | referral | lottery | redeem | … (what paid or took the
    points); ref: which one of them (the local date of a check-in, the campaign and group of an
    order's points, a lottery draw), so (member_id, reason, ref) happens once.
    """

    __tablename__ = "points_ledger"
    __table_args__ = (
        UniqueConstraint("member_id", "reason", "ref", name="uq_points_ledger_award"),
        Index("ix_points_ledger_member", "member_id", "id"),
        Index("ix_points_ledger_campaign", "campaign_id", "reason"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: str
    points: int
    reason: str
    ref: str
    campaign_id: str = ""
    group_id: str = ""
    created_at: datetime = utc_column()


class PointsBalance(SQLModel, table=True):
    """A member's balance (the sum of their ledger rows) and lifetime points earned (credits only)."""

    __tablename__ = "points_balances"

    member_id: str = Field(primary_key=True)
    balance: int = 0
    earned: int = 0
    updated_at: datetime = utc_column()


class PointsCheckin(SQLModel, table=True):
    """A member's latest check-in day (local, `bot.timezone`) and the streak it continued."""

    __tablename__ = "points_checkins"

    member_id: str = Field(primary_key=True)
    last_day: date
    streak: int = 1
    best: int = 1
    updated_at: datetime = utc_column()


class PointsRedemption(SQLModel, table=True):
    """A member's 积分抵扣 in one campaign: opted in (积分抵扣) or out (不用积分) until the close
    settles it; then `settled`, with the points the close debited and the fen they took off.

    The close claims the row (`settled` false -> true, one conditional UPDATE) before it debits, so
    two closes of one member's groups, in threads or processes, debit once.
    """

    __tablename__ = "points_redemptions"

    member_id: str = Field(primary_key=True)
    campaign_id: str = Field(primary_key=True)
    opted: bool = True
    settled: bool = False
    points: int = 0
    off_cents: int = 0
    updated_at: datetime = utc_column()


LEDGER = PointsLedgerRow.__table__  # type: ignore[attr-defined]
BALANCES = PointsBalance.__table__  # type: ignore[attr-defined]
CHECKINS = PointsCheckin.__table__  # type: ignore[attr-defined]
REDEMPTIONS = PointsRedemption.__table__  # type: ignore[attr-defined]
