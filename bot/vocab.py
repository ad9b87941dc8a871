"""The ground floor: words every layer shares, as enums. Imports nothing of ours.

Roles and send priorities were defined beside the handler decorators, so the outbox
and the role book imported the handler module (and, through it, the context and the
router) just to name a priority. Statuses are `StrEnum`s: they are stored as their
string values, and compare equal to the plain strings older rows and tests use.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Role(IntEnum):
    """What a member may do; rights come from ids in config or grants, never names."""

    MEMBER = 0
    LEADER = 1
    ADMIN = 2


class Priority(IntEnum):
    """Handler order (lower runs first) and outbox order (lower leaves first)."""

    ALERT = 5
    CAMPAIGN = 10
    COMMAND = 20
    ORDER = 30
    DEFAULT = 50
    CHATTER = 70


class OutboxStatus(StrEnum):
    """An outbox row's life: queued -> sending -> sent, or failed, uncertain, cancelled."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    CANCELLED = "cancelled"


class SaleStatus(StrEnum):
    """A campaign's sale in one group."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


class NodeStatus(StrEnum):
    """What the exactly-once ledger recorded for one timeline node in one group."""

    POSTED = "posted"
    SKIPPED = "skipped"
    DONE = "done"
