"""The after-sales tables (listed in bot.schema): one row per ticket.

Every state change is a conditional UPDATE on this row (first reply `WHERE first_reply_at IS
NULL`, resolution `WHERE resolved_at IS NULL`, each escalation `WHERE escalated_… IS NULL`,
the rating `WHERE rating IS NULL`), so a rerun, a restart or two leaders at once change it
once and send nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class AftersalesTicket(SQLModel, table=True):
    """A member's complaint about a campaign's order, and what became of it (`id` is the ticket number)."""

    __tablename__ = "aftersales_tickets"
    __table_args__ = (
        Index("ix_aftersales_tickets_campaign", "campaign_id", "group_id"),
        Index("ix_aftersales_tickets_member", "member_id", "resolved_at"),
        Index("ix_aftersales_tickets_resolved", "resolved_at"),  # followers' read (aftersales.shared)
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    group_id: str
    member_id: str
    member_name: str = ""  # display name when opened, made safe (`safe_name`)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))  # the member's words: private
    lines: str = Field(
        default="[]", sa_column=Column(Text, nullable=False)
    )  # JSON [[code, name, qty, cents]]
    lines_cents: int = 0  # the snapshot's value: the default 补发 value and the refund ceiling
    opened_at: datetime = utc_column()
    reply_due_at: datetime = utc_column()  # opened_at + the campaign's first_reply_within
    resolve_due_at: datetime = utc_column()  # opened_at + the campaign's resolve_within
    first_reply_at: datetime | None = utc_column(nullable=True)
    first_reply_by: str = ""
    resolved_at: datetime | None = utc_column(nullable=True)
    resolved_by: str = ""
    resolution: str = ""  # refund | resend | resolved
    refund_cents: int = 0
    resend_cents: int = 0
    note: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default="")
    )  # the leader's 已解决 note
    escalated_reply_at: datetime | None = utc_column(nullable=True)
    escalated_resolve_at: datetime | None = utc_column(nullable=True)
    rating: int | None = None
    rated_at: datetime | None = utc_column(nullable=True)
