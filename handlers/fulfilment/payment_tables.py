"""The payment half's tables (listed in bot.schema): payments, order adjustments, reminders.

No real money moves through the bot: these rows only record what the leader says was paid
(`/paid`, or the clerk at pickup), what after-sales refunded or resent, and which private
payment reminders went out, so a rerun of a reminder job sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class Payment(SQLModel, table=True):
    """What a member of a campaign has paid, as the leader (or the pickup clerk) recorded it.

    One row per (campaign, member): marking again raises `paid_cents` to the new amount and
    never lowers it, so `/paid` twice is harmless.
    """

    __tablename__ = "payments"

    campaign_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    paid_cents: int = 0
    method: str = "leader"  # leader | pickup
    marked_by: str = ""
    marked_at: datetime = utc_column()


class OrderAdjustment(SQLModel, table=True):
    """A refund (退款, lowers what the member owes) or resend (补发, the leader's cost) from a ticket."""

    __tablename__ = "order_adjustments"
    __table_args__ = (Index("ix_order_adjustments_campaign", "campaign_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    member_id: str
    kind: str  # refund | resend
    cents: int = 0
    ticket_id: int = 0  # 0 = not from a ticket
    by: str = ""
    at: datetime = utc_column()


class PaymentReminder(SQLModel, table=True):
    """How many private payment reminders a member got for a campaign, and when the last one left."""

    __tablename__ = "payment_reminders"

    campaign_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    count: int = 0
    last_at: datetime | None = utc_column(nullable=True)


PAYMENTS = Payment.__table__  # type: ignore[attr-defined]
ADJUSTMENTS = OrderAdjustment.__table__  # type: ignore[attr-defined]
REMINDERS = PaymentReminder.__table__  # type: ignore[attr-defined]

__all__ = ["ADJUSTMENTS", "PAYMENTS", "REMINDERS", "OrderAdjustment", "Payment", "PaymentReminder"]
