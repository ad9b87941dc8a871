"""Tables of the faq feature (atomic claims live in their unique keys and conditional UPDATEs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class FaqCustom(SQLModel, table=True):
    """An FAQ entry a leader added in chat (`/faq add 问题 | 答案`) for one group."""

    __tablename__ = "engagement_faq_custom"

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(index=True)
    question: str = Field(default="", sa_column=Column(Text, nullable=False))
    answer: str = Field(default="", sa_column=Column(Text, nullable=False))
    added_by: str = ""
    added_at: datetime = utc_column()


class FaqUnanswered(SQLModel, table=True):
    """A question addressed to the bot that matched nothing, kept for the leaders."""

    __tablename__ = "engagement_faq_unanswered"
    __table_args__ = (Index("ix_engagement_faq_unanswered_group", "group_id", "asked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: str
    member_id: str
    member_name: str = ""
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    asked_at: datetime = utc_column()
