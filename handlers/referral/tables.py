"""Tables of 推荐有礼: invites, personal invite codes, and every reward paid (once each).

Columns are named so that `bot.member_data` finds them: an invite row belongs to the invitee
(`member_id`) and names the inviter in `by_id` (both member columns there); `member_name` and
`inviter_name` are among the personal fields a forget empties.

- `referral_invites`: one row per invitee, ever (unique `member_id`): a member is someone's
  invitee once, and only when new to every group of the bot. `status` moves pending ->
  credited | held | lapsed at the campaign's close, held -> credited | rejected by an admin.
- `referral_codes`: a member's personal invite code (`我的邀请码`), unique.
- `referral_payouts`: what was paid, keyed (member, what) so every reward is paid once
  whatever runs twice: `inviter:<invite id>`, `invitee:<invite id>`, `ladder:<invites>`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column

PENDING = "pending"  # joined; decided at the campaign's close in its group
CREDITED = "credited"  # paid (at close, or released by an admin)
HELD = "held"  # qualified but flagged by anti-cheat: waits for an admin
REJECTED = "rejected"  # an admin refused a held invite
LAPSED = "lapsed"  # no order in the campaign by close (or the order was cancelled)

JOIN = "join"  # the transport named the inviter of a join
CODE = "code"  # the newcomer sent the inviter's code


class ReferralInvite(SQLModel, table=True):
    """A newcomer brought by a member, for one campaign, in one group."""

    __tablename__ = "referral_invites"
    __table_args__ = (
        UniqueConstraint("member_id", name="uq_referral_invitee"),
        Index("ix_referral_campaign", "campaign_id", "group_id", "status"),
        Index("ix_referral_inviter", "by_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    group_id: str
    member_id: str  # the invitee
    member_name: str = ""
    by_id: str  # the inviter
    inviter_name: str = ""
    source: str = JOIN
    joined_at: datetime = utc_column()
    left_at: datetime | None = utc_column(nullable=True)  # first leave seen after the join
    seen_elsewhere: bool = False  # the bot had seen the invitee in another group before
    status: str = PENDING
    reasons: str = ""  # anti-cheat rules that flagged it, comma-separated
    decided_at: datetime | None = utc_column(nullable=True)
    decided_by: str = ""  # "close" or the admin's id
    created_at: datetime = utc_column()


class ReferralCode(SQLModel, table=True):
    """A member's personal invite code."""

    __tablename__ = "referral_codes"
    __table_args__ = (UniqueConstraint("code", name="uq_referral_code"),)

    member_id: str = Field(primary_key=True)
    code: str
    created_at: datetime = utc_column()


class ReferralPayout(SQLModel, table=True):
    """One reward paid: the coupon code and/or points, keyed so it is paid once."""

    __tablename__ = "referral_payouts"
    __table_args__ = (UniqueConstraint("member_id", "what", name="uq_referral_payout"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: str
    what: str
    invite_id: int | None = None
    campaign_id: str = ""
    group_id: str = ""
    coupon_code: str = ""
    points: int = 0
    created_at: datetime = utc_column()


INVITES = ReferralInvite.__table__  # type: ignore[attr-defined]
CODES = ReferralCode.__table__  # type: ignore[attr-defined]
PAYOUTS = ReferralPayout.__table__  # type: ignore[attr-defined]

__all__ = [
    "CODE",
    "CODES",
    "CREDITED",
    "HELD",
    "INVITES",
    "JOIN",
    "LAPSED",
    "PAYOUTS",
    "PENDING",
    "REJECTED",
    "ReferralCode",
    "ReferralInvite",
    "ReferralPayout",
]
