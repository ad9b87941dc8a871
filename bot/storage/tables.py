"""SQLModel tables for the core bot.

Datetimes are stored as naive UTC (SQLite has no time zones) and come back
aware, through `UTCDateTime`, so no caller ever compares naive with aware.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text, TypeDecorator, UniqueConstraint, true
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as naive UTC; read them back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utc_sqlite_text(value: datetime | None) -> str | None:
    """A `UTCDateTime` value as SQLAlchemy binds it on SQLite (naive UTC, then its DATETIME text
    ``YYYY-MM-DD HH:MM:SS.ffffff``), in one call instead of a chain of four: the writers' plans
    bind thousands of them a second (bot/storage/multirow.py; the same text, tested)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database; use aware UTC datetimes")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def bind_processor(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """How a value of column type `type_` is bound on `dialect` by a writer that builds its own
    statements (bot/storage/multirow.py): `utc_sqlite_text` for `UTCDateTime` on SQLite, else
    SQLAlchemy's processor (None: the value as it is)."""
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite":
        return utc_sqlite_text
    processor: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class GroupRow(SQLModel, table=True):
    __tablename__ = "groups"

    id: str = Field(primary_key=True)
    name: str = ""
    member_count: int = 0
    bot_present: bool = True
    updated_at: datetime = utc_column()


class MemberRow(SQLModel, table=True):
    __tablename__ = "members"

    id: str = Field(primary_key=True)
    name: str = ""
    updated_at: datetime = utc_column()


class Membership(SQLModel, table=True):
    """A member's presence in a group; `first_seen_at` catches joins WeChat never reported."""

    __tablename__ = "memberships"

    group_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    first_seen_at: datetime = utc_column()
    joined_at: datetime | None = utc_column(nullable=True)
    left_at: datetime | None = utc_column(nullable=True)
    welcomed_at: datetime | None = utc_column(nullable=True)


class RoleGrant(SQLModel, table=True):
    """A role granted in chat (`/leader add`), on top of those in config.yaml."""

    __tablename__ = "role_grants"

    group_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    role: str = Field(primary_key=True)
    granted_by: str = ""
    granted_at: datetime = utc_column()


class InboundMessage(SQLModel, table=True):
    """Everything members said to the bot or in its groups: the basis of metrics and audits."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_inbound_message_id"),
        Index("ix_inbound_group_time", "group_id", "time"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str
    kind: str = "group"
    group_id: str = ""
    sender_id: str = ""
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    time: datetime = utc_column()


class OutboxRow(SQLModel, table=True):
    """A message the bot means to send; the queue survives restarts.

    status: queued -> sending -> sent, or failed (not retryable), or uncertain
    (the bot stopped between handing it to the network and hearing back; it is
    not sent again, so a restart can never post it twice), or cancelled (dropped
    while still queued because it became stale; never sent).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_priority", "status", "priority", "id"),
        Index("ix_outbox_replace", "status", "replace_key"),
        Index("ix_outbox_sent_at", "sent_at"),
        Index("ix_outbox_account", "account", "status", "claimed"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = ""
    member_id: str = ""
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    mentions: str = ""
    priority: int = 50
    kind: str = "reply"
    replace_key: str = ""
    status: str = "queued"
    attempts: int = 0
    last_error: str = ""
    created_at: datetime = utc_column()
    not_before: datetime | None = utc_column(nullable=True)
    sent_at: datetime | None = utc_column(nullable=True)
    # Several accounts (docs/deploy.md): the account that serves the row's group, and whether
    # that account's process holds the row in its queue. One account: "" and always true.
    account: str = Field(default="", sa_column_kwargs={"server_default": ""})
    claimed: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class TimelineLedger(SQLModel, table=True):
    """Executed timeline nodes: one row per campaign, node and group, ever.

    The unique key is what makes a timeline post exactly-once: a restart, a
    reload or two overlapping runs all try to insert the same row, and only one
    can. The row is written in the same transaction as the outbox rows it queues.
    status: posted | skipped (too late for an informational post) | done (no post).
    """

    __tablename__ = "timeline_ledger"
    __table_args__ = (UniqueConstraint("campaign_id", "node_id", "group_id", name="uq_ledger_node_group"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(index=True)
    node_id: str
    group_id: str
    status: str
    scheduled_at: datetime = utc_column()
    ran_at: datetime = utc_column()
    detail: str = ""


class CampaignGroupState(SQLModel, table=True):
    """Where a campaign stands in one group: scheduled -> open -> closed."""

    __tablename__ = "campaign_groups"

    campaign_id: str = Field(primary_key=True)
    group_id: str = Field(primary_key=True)
    status: str = "scheduled"
    opened_at: datetime | None = utc_column(nullable=True)
    closed_at: datetime | None = utc_column(nullable=True)


class CampaignControl(SQLModel, table=True):
    """Leader controls that outlive a restart: pause and delay."""

    __tablename__ = "campaign_controls"

    campaign_id: str = Field(primary_key=True)
    paused: bool = False
    delay_seconds: int = 0
    updated_by: str = ""
    updated_at: datetime = utc_column()


class ProcessLease(SQLModel, table=True):
    """Which bot process owns this database (one process per database).

    One row per lease name. On SQLite the row is the lock (renewed by a heartbeat,
    taken over when its holder is gone); on PostgreSQL an advisory lock is the lock
    and the row only says who holds it.
    """

    __tablename__ = "process_lease"

    name: str = Field(primary_key=True)
    holder: str = ""  # host:pid:random, unique per process
    host: str = ""
    pid: int = 0
    pid_started: str = ""  # the process's start time on its host, to tell a reused pid apart
    since: datetime = utc_column()
    heartbeat_at: datetime = utc_column()
    state: str = Field(default="online", sa_column_kwargs={"server_default": "online"})  # or logged_out


class CampaignAnchor(SQLModel, table=True):
    """When the bot first loaded a campaign whose opening is relative (``opens_at: +2h``).

    Kept so that a restart or an edit does not move the sale: the exactly-once ledger and the
    members' expectations both depend on fixed times.
    """

    __tablename__ = "campaign_anchor"

    campaign_id: str = Field(primary_key=True)
    anchored_at: datetime = utc_column()


class IdBlock(SQLModel, table=True):
    """The next free id of a table whose ids are handed out in memory, when several processes do.

    One account process counts outbox ids on in memory; several reserve blocks of them here
    (`UPDATE ... next = next + n`), so two processes never hand out the same id.
    """

    __tablename__ = "id_blocks"

    name: str = Field(primary_key=True)
    next_id: int = 1


class AccountAbsence(SQLModel, table=True):
    """A group an account was removed from (several accounts): its standby serves it meanwhile.

    Written by the account's own process when its transport reports the removal; deleted when
    that account hears the group again (it was added back).
    """

    __tablename__ = "account_absences"

    account_id: str = Field(primary_key=True)
    group_id: str = Field(primary_key=True)
    since: datetime = utc_column()
