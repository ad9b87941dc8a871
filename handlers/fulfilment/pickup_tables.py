"""The pickup half's tables (listed in bot.schema): pickup codes and pickup clerks.

A code is picked up at most once: `picked_at` goes from NULL to a time in one conditional
UPDATE (`handlers.fulfilment.redeem`), so two clerks racing the same code cannot both win.
The unique keys are the backstops of "one code per buyer per campaign" and "a code names one
buyer in its campaign" (the issuer retries on a collision).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class PickupCodeRow(SQLModel, table=True):
    """One buyer's pickup code (取货码) for one campaign, and whether the goods were picked up."""

    __tablename__ = "pickup_codes"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", name="uq_pickup_codes_member"),
        UniqueConstraint("campaign_id", "code", name="uq_pickup_codes_code"),
        Index("ix_pickup_codes_code", "code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    member_id: str
    point: str = ""  # the pickup point's name; "" = none chosen
    code: str
    issued_at: datetime = utc_column()
    picked_at: datetime | None = utc_column(nullable=True)
    picked_by: str = ""  # the clerk's (or admin's) member id
    picked_by_name: str = ""  # their display name then, made safe to show
    reminded_at: datetime | None = utc_column(nullable=True)  # the one pickup reminder went out


class PickupClerk(SQLModel, table=True):
    """A pickup clerk (核销员): a member id allowed to check off codes at one pickup point.

    Keyed by group too: two groups sharing a point each name (and remove) their own clerks.
    """

    __tablename__ = "pickup_clerks"

    group_id: str = Field(primary_key=True)  # the group whose leader (or an admin) added the clerk
    point: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    added_by: str = ""
    added_at: datetime = utc_column()


CODES = PickupCodeRow.__table__  # type: ignore[attr-defined]
CLERKS = PickupClerk.__table__  # type: ignore[attr-defined]

__all__ = ["CLERKS", "CODES", "PickupClerk", "PickupCodeRow"]
