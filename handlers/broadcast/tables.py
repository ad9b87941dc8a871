"""Tables of scheduled broadcasts (issue 18, single account): one message to many groups.

- `broadcasts`: what an author asked for, when it is due, and its state. `status` moves
  pending -> sent (by the one delivery that wins the conditional update, in the same
  transaction that writes the posts into the outbox) or pending -> cancelled.
- `broadcast_groups`: one row per (broadcast, group) with that group's tracking code, unique
  across all broadcasts, so a reply names one group of one broadcast.
- `broadcast_replies`: one row per reply carrying a code (written behind the loop); figures
  count distinct members per group.
- `broadcast_clicks`: one row per opening of a group's tracking link on the board's server
  (written behind the loop); nobody is identified, so every click counts.
- `broadcast_sources`: for a broadcast from a campaign file (`broadcasts.messages`), which
  file and message it came from. `live_key` (campaign id + hash of the message) is unique while
  the message stands, so reloading the file, or two processes syncing it, never makes a second
  broadcast of it; it is cleared when the file drops the message, so putting it back schedules
  it again. A message a person cancelled keeps its key: reloading does not bring it back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column

PENDING = "pending"
SENT = "sent"
CANCELLED = "cancelled"


class Broadcast(SQLModel, table=True):
    """One broadcast: its author, text, targets as typed, and due time (UTC)."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    author_id: str
    text: str
    target: str = ""  # as the author typed it (#fruit, all, a group id), for /broadcast list
    due_at: datetime = utc_column()
    status: str = PENDING
    created_at: datetime = utc_column()
    sent_at: datetime | None = utc_column(nullable=True)
    cancelled_by: str = ""


class BroadcastGroup(SQLModel, table=True):
    """A group a broadcast goes to, and the code its members reply with."""

    __tablename__ = "broadcast_groups"
    __table_args__ = (
        UniqueConstraint("code", name="uq_broadcast_code"),
        UniqueConstraint("broadcast_id", "group_id", name="uq_broadcast_group"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(index=True)
    group_id: str
    code: str


class BroadcastReply(SQLModel, table=True):
    """A member's reply with a group's code (several from one member count once)."""

    __tablename__ = "broadcast_replies"
    __table_args__ = (Index("ix_broadcast_replies_group", "group_id", "broadcast_id"),)

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int
    group_id: str
    member_id: str
    at: datetime = utc_column()


class BroadcastClick(SQLModel, table=True):
    """One opening of a group's tracking link (redirected to the broadcast's address)."""

    __tablename__ = "broadcast_clicks"
    __table_args__ = (Index("ix_broadcast_clicks_group", "group_id", "broadcast_id"),)

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int
    group_id: str
    at: datetime = utc_column()


class BroadcastSource(SQLModel, table=True):
    """The campaign-file message a broadcast was made from (none for a chat /broadcast)."""

    __tablename__ = "broadcast_sources"
    __table_args__ = (
        UniqueConstraint("broadcast_id", name="uq_broadcast_source"),
        UniqueConstraint("live_key", name="uq_broadcast_source_live"),
        Index("ix_broadcast_sources_campaign", "campaign_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int
    campaign_id: str
    file: str  # the file's path when the broadcast was made (a file gone means: cancel it)
    position: int  # the message's index in `broadcasts.messages` then
    key: str  # campaign id + hash of (time, targets, text): the message's identity
    live_key: str | None = None  # = key while the message stands; None once the file dropped it


BROADCASTS = Broadcast.__table__  # type: ignore[attr-defined]
GROUPS = BroadcastGroup.__table__  # type: ignore[attr-defined]
REPLIES = BroadcastReply.__table__  # type: ignore[attr-defined]
CLICKS = BroadcastClick.__table__  # type: ignore[attr-defined]
SOURCES = BroadcastSource.__table__  # type: ignore[attr-defined]

__all__ = [
    "BROADCASTS",
    "CANCELLED",
    "CLICKS",
    "GROUPS",
    "PENDING",
    "REPLIES",
    "SENT",
    "SOURCES",
    "Broadcast",
    "BroadcastClick",
    "BroadcastGroup",
    "BroadcastReply",
    "BroadcastSource",
]
