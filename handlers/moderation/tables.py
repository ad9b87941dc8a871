"""Tables of the moderation feature: the audit log of every moderation action.

One row per action the bot or a leader took (a warning, a group mention, a leader alert, a mute,
an unmute, a kick), written behind the event loop. It is also what the bot reads at start-up to
know who is still muted and how far up the ladder a member is (`handlers.moderation.audit`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class ModerationAction(SQLModel, table=True):
    """One moderation action in one group, about one member.

    `action`: warn | mention | alert | mute | unmute | kick | kick_failed. `rule` names what was
    broken (link, flood, repeat, banned_word, mass_mention, muted) for the ladder's steps, empty
    for a leader's command. `detail` is the evidence, already masked (never a phone number).
    `by_id` is the leader or admin who acted, empty for the bot. `until`: a mute's end.
    """

    __tablename__ = "moderation_action"
    __table_args__ = (Index("ix_moderation_action_group_at", "group_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: str
    member_id: str
    action: str
    rule: str = ""
    strike: int = 0
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    by_id: str = ""
    at: datetime = utc_column()
    until: datetime | None = utc_column(nullable=True)
