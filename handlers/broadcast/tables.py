"""Tables of scheduled broadcasts (issue 18, single account): one message to many groups.

- `broadcasts`: what an author asked for, when it is due, and its state. `status` moves
  pending -> sent (by the one delivery that wins the conditional update, in the same
  transaction that writes the posts into the outbox) or pending -> cancelled.
- `broadcast_groups`: one row per (broadcast, group) with that group's tracking code, unique
  across all broadcasts, so a reply names one group of one broadcast.
- `broadcast_replies`: one row per reply carrying a code (written behind the loop); figures
  count distinct members per group.
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


BROADCASTS = Broadcast.__table__  # type: ignore[attr-defined]
GROUPS = BroadcastGroup.__table__  # type: ignore[attr-defined]
REPLIES = BroadcastReply.__table__  # type: ignore[attr-defined]

__all__ = [
    "BROADCASTS",
    "CANCELLED",
    "GROUPS",
    "PENDING",
    "REPLIES",
    "SENT",
    "Broadcast",
    "BroadcastGroup",
    "BroadcastReply",
]
