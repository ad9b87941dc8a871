"""Tables of the welcome feature (atomic claims live in their unique keys and conditional UPDATEs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


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
