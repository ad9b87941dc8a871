"""Tables of the order guard: which members were flagged under which pattern, once.

One row per (campaign, pattern, scope, member). The unique key is what makes a finding told
once: every check inserts the members it flags, and only the rows it really inserted are
news for the admins, so a restart, the next periodic check or the close check repeats
nothing; a member who joins a pattern later is news on their own.

`scope` says which instance of the pattern: the group for new silent members, the group
and broadcast node for cancels, and a hash of the shared signal (phone, address, name) for
look-alike ids. A phone number or an address is never stored here in clear: the scope is
a digest and `detail` holds the masked form.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column

NEW_SILENT = "new_silent"
LOOKALIKE = "lookalike"
CANCEL_AFTER_BROADCAST = "cancel_after_broadcast"
PATTERNS = (NEW_SILENT, LOOKALIKE, CANCEL_AFTER_BROADCAST)


class OrderGuardFlag(SQLModel, table=True):
    """One member flagged under one instance of a padded-sales pattern in a campaign."""

    __tablename__ = "order_guard_flags"
    __table_args__ = (
        UniqueConstraint("campaign_id", "pattern", "scope", "member_id", name="uq_order_guard_flag"),
        Index("ix_order_guard_campaign", "campaign_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    pattern: str
    scope: str
    group_id: str = ""
    member_id: str
    member_name: str = ""  # display name as ordered (already safe for a group), shown masked
    orders: int = 0  # the member's orders counted under this pattern
    detail: str = "{}"  # JSON: the figures behind the finding (worded by the templates), contacts masked
    found_at: datetime = utc_column()


FLAGS = OrderGuardFlag.__table__  # type: ignore[attr-defined]

__all__ = ["CANCEL_AFTER_BROADCAST", "FLAGS", "LOOKALIKE", "NEW_SILENT", "PATTERNS", "OrderGuardFlag"]
