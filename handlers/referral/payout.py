"""Paying a credited invite: both sides' rewards and the inviter's ladder rungs, each once ever.

Every reward is one row of `referral_payouts` keyed (member, what), inserted with ON CONFLICT DO
NOTHING in the caller's transaction (the close's claim, an admin's release): a second run inserts
nothing and pays nothing. Points go through the points ledger (reason `referral`, ref = what,
itself once per key); a coupon through `issue_reward` (outside the coupon's quota).

Ladders count the inviter's credited invites over every campaign: 邀请3人 means three friends who
bought, whenever. Each rung is paid once per member ever (`ladder:<invites>`), with the rewards
the campaign that reaches it declares.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from bot.campaign.active import ActiveCampaign
from bot.storage.engine import upsert_insert
from handlers.coupons.chat import spec_for
from handlers.coupons.rewards import issue_reward
from handlers.coupons.store import CouponSpec
from handlers.points.ledger import PointsLedger
from handlers.referral.tables import CREDITED, HELD, INVITES, PAYOUTS, PENDING

POINTS_REASON = "referral"
COUPON_SOURCE = "referral"


@dataclass(frozen=True)
class Reward:
    points: int = 0
    coupon: CouponSpec | None = None

    @property
    def pays(self) -> bool:
        return bool(self.points) or self.coupon is not None


@dataclass(frozen=True)
class Plan:
    """A campaign's referral rewards, with its coupons' terms as issued now."""

    campaign_id: str
    inviter: Reward
    invitee: Reward
    ladders: tuple[tuple[int, Reward], ...] = ()


@dataclass(frozen=True)
class Paid:
    """One reward paid now: to whom, for what, and what they got."""

    member_id: str
    what: str
    points: int
    coupon_code: str
    amount_cents: int

    @property
    def kind(self) -> str:
        """inviter, invitee or ladder (what the template names)."""
        return self.what.split(":", 1)[0]

    @property
    def rung(self) -> str:
        """The ladder's number of invites ("" for an invite's reward)."""
        return self.what.split(":", 1)[1] if self.kind == "ladder" else ""


def plan_of(active: ActiveCampaign, now: datetime) -> Plan:
    campaign = active.campaign
    section = campaign.referral
    assert section is not None

    def reward(coupon_id: str | None, points: int) -> Reward:
        coupon = campaign.coupon(coupon_id) if coupon_id else None
        spec = None
        if coupon is not None:
            spec = replace(
                spec_for(active, coupon, now, COUPON_SOURCE), quota=None, source_ref=f"referral:{campaign.id}"
            )
            if spec.valid_until is not None and spec.valid_until <= now:
                logger.bind(campaign=campaign.id, coupon=coupon.id).warning(
                    "referral: coupon expired; not issued"
                )
                spec = None
        return Reward(points, spec)

    return Plan(
        campaign.id,
        reward(section.inviter.coupon, section.inviter.points),
        reward(section.invitee.coupon, section.invitee.points),
        tuple((rung.invites, reward(rung.coupon, rung.points)) for rung in section.ladders),
    )


def pay_one(
    conn: Connection,
    ledger: PointsLedger,
    member_id: str,
    what: str,
    reward: Reward,
    *,
    invite_id: int | None,
    campaign_id: str,
    group_id: str,
    now: datetime,
) -> Paid | None:
    """Pay `reward` to `member_id` for `what`, unless it was paid before (None then)."""
    if not reward.pays:
        return None
    insert = upsert_insert(conn)
    fresh = conn.execute(
        insert(PAYOUTS)
        .values(
            member_id=member_id,
            what=what,
            invite_id=invite_id,
            campaign_id=campaign_id,
            group_id=group_id,
            points=reward.points,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[PAYOUTS.c.member_id, PAYOUTS.c.what])
    ).rowcount
    if fresh != 1:
        return None
    if reward.points:
        ledger.credit_in(
            conn,
            member_id,
            reward.points,
            POINTS_REASON,
            what,
            now=now,
            campaign_id=campaign_id,
            group_id=group_id,
        )
    code = ""
    if reward.coupon is not None:
        code = issue_reward(conn, reward.coupon, member_id, group_id, now)
        conn.execute(
            update(PAYOUTS)
            .where(PAYOUTS.c.member_id == member_id, PAYOUTS.c.what == what)
            .values(coupon_code=code)
        )
    amount = reward.coupon.amount_cents if reward.coupon is not None else 0
    return Paid(member_id, what, reward.points, code, amount)


def credit(
    conn: Connection, ledger: PointsLedger, invite: Any, plan: Plan, now: datetime, by: str
) -> list[Paid] | None:
    """Mark a pending or held invite credited and pay both sides and the inviter's new rungs
    (what was paid now); None if it was decided already."""
    moved = conn.execute(
        update(INVITES)
        .where(INVITES.c.id == invite.id, INVITES.c.status.in_([PENDING, HELD]))
        .values(status=CREDITED, decided_at=now, decided_by=by)
    ).rowcount
    if moved != 1:
        return None
    where = {
        "invite_id": invite.id,
        "campaign_id": invite.campaign_id,
        "group_id": invite.group_id,
        "now": now,
    }
    paid = [
        pay_one(conn, ledger, invite.by_id, f"inviter:{invite.id}", plan.inviter, **where),
        pay_one(conn, ledger, invite.member_id, f"invitee:{invite.id}", plan.invitee, **where),
        *ladders(conn, ledger, invite.by_id, plan, invite.group_id, now),
    ]
    return [p for p in paid if p is not None]


def credited_count(conn: Connection, inviter: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(INVITES)
            .where(INVITES.c.by_id == inviter, INVITES.c.status == CREDITED)
        ).scalar_one()
    )


def ladders(
    conn: Connection, ledger: PointsLedger, inviter: str, plan: Plan, group_id: str, now: datetime
) -> list[Paid | None]:
    """Every rung the inviter has reached and was never paid (`ladder:<invites>`, once ever)."""
    if not plan.ladders:
        return []
    count = credited_count(conn, inviter)
    return [
        pay_one(
            conn,
            ledger,
            inviter,
            f"ladder:{invites}",
            reward,
            invite_id=None,
            campaign_id=plan.campaign_id,
            group_id=group_id,
            now=now,
        )
        for invites, reward in plan.ladders
        if invites <= count
    ]


__all__ = [
    "COUPON_SOURCE",
    "POINTS_REASON",
    "Paid",
    "Plan",
    "Reward",
    "credit",
    "ladders",
    "pay_one",
    "plan_of",
]
