"""Invites and invite codes in the database: who brought whom, decided by the database's keys.

A member is someone's invitee at most once, ever (`referral_invites.member_id` is unique), and
only when new to every group of the bot: the core bookkeeping (`memberships`, written before a
join is dispatched) says where the bot saw them before. Seen before in the group they join: a
rejoin, no invite. Seen before only in another group: an invite, marked `seen_elsewhere` for
the anti-cheat rules. Every method is one short transaction, run in a worker thread.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.storage.engine import upsert_insert
from bot.storage.tables import CampaignGroupState, InboundMessage, MemberRow, Membership
from bot.vocab import SaleStatus
from handlers.referral.tables import CODE, CODES, CREDITED, HELD, INVITES, JOIN, PENDING

MEMBERSHIPS = Membership.__table__  # type: ignore[attr-defined]
INBOUND = InboundMessage.__table__  # type: ignore[attr-defined]
MEMBERS = MemberRow.__table__  # type: ignore[attr-defined]
STATES = CampaignGroupState.__table__  # type: ignore[attr-defined]

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed by hand
CODE_LENGTH = 6
CODE_ATTEMPTS = 8
BIND_WITHIN = timedelta(hours=72)
"""A code binds only a newcomer: someone whose first sighting by the bot was a join this recent."""

BOUND = "bound"
UNKNOWN_CODE = "unknown_code"
OWN_CODE = "own_code"
ALREADY = "already"
NOT_NEW = "not_new"
CYCLE = "cycle"
NO_CAMPAIGN = "no_campaign"


@dataclass(frozen=True)
class Recorded:
    """An invite just written."""

    invite_id: int
    campaign_id: str
    group_id: str
    inviter: str


@dataclass(frozen=True)
class Bound:
    """What a code sent by a member did."""

    status: str
    recorded: Recorded | None = None
    inviter_name: str = ""


@dataclass(frozen=True)
class BoardRow:
    inviter: str
    name: str
    count: int


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class ReferralStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- codes -------------------------------------------------------------------------------------
    def code_of(self, member_id: str, now: datetime) -> str:
        """The member's invite code, made on first ask (a code collision costs one more try)."""
        for _ in range(CODE_ATTEMPTS):
            with self.engine.begin() as conn:
                found = conn.execute(select(CODES.c.code).where(CODES.c.member_id == member_id)).scalar()
                if found:
                    return str(found)
                try:
                    with conn.begin_nested():
                        conn.execute(
                            CODES.insert().values(member_id=member_id, code=new_code(), created_at=now)
                        )
                except IntegrityError:
                    continue  # the code was taken, or the member's row was written meanwhile: look again
        raise RuntimeError(f"could not make an invite code for {member_id}")

    def owner_of(self, code: str, conn: Connection | None = None) -> str | None:
        query = select(CODES.c.member_id).where(CODES.c.code == code.upper())
        if conn is not None:
            return conn.execute(query).scalar()
        with self.engine.connect() as own:
            return own.execute(query).scalar()

    # -- invites -----------------------------------------------------------------------------------
    def record_join(
        self,
        campaign_id: str,
        group_id: str,
        member_id: str,
        member_name: str,
        inviter: str,
        inviter_name: str,
        joined_at: datetime,
    ) -> Recorded | None:
        """The join as an invite, unless the bot saw the member in this group before or they
        already have an inviter; None then."""
        with self.engine.begin() as conn:
            seen = conn.execute(
                select(MEMBERSHIPS.c.group_id).where(
                    MEMBERSHIPS.c.member_id == member_id, MEMBERSHIPS.c.first_seen_at < joined_at
                )
            ).all()
            if any(row.group_id == group_id for row in seen):
                return None  # a rejoin: not new
            return self._insert(
                conn,
                campaign_id=campaign_id,
                group_id=group_id,
                member_id=member_id,
                member_name=member_name,
                by_id=inviter,
                inviter_name=inviter_name,
                source=JOIN,
                joined_at=joined_at,
                seen_elsewhere=bool(seen),
                created_at=joined_at,
            )

    def bind(
        self,
        member_id: str,
        member_name: str,
        code: str,
        now: datetime,
        campaign_in: Any,
    ) -> Bound:
        """A member sent an invite code: bind its owner as their inviter if they are a newcomer
        without one. `campaign_in(group_id, at)` names the group's referral campaign then, or None."""
        with self.engine.begin() as conn:
            owner = self.owner_of(code, conn)
            if owner is None:
                return Bound(UNKNOWN_CODE)
            if owner == member_id:
                return Bound(OWN_CODE)
            if conn.execute(select(INVITES.c.id).where(INVITES.c.member_id == member_id)).first():
                return Bound(ALREADY)
            first = conn.execute(
                select(MEMBERSHIPS.c.group_id, MEMBERSHIPS.c.first_seen_at, MEMBERSHIPS.c.joined_at)
                .where(MEMBERSHIPS.c.member_id == member_id)
                .order_by(MEMBERSHIPS.c.first_seen_at)
                .limit(1)
            ).first()
            if first is None or first.joined_at is None or now - first.first_seen_at > BIND_WITHIN:
                return Bound(NOT_NEW)  # not arrived by a join the bot saw, or too long ago
            owners_inviter = conn.execute(
                select(INVITES.c.by_id).where(INVITES.c.member_id == owner)
            ).scalar()
            if owners_inviter == member_id:
                return Bound(CYCLE)
            campaign_id = campaign_in(first.group_id, now)
            if campaign_id is None:
                return Bound(NO_CAMPAIGN)
            owner_name = str(conn.execute(select(MEMBERS.c.name).where(MEMBERS.c.id == owner)).scalar() or "")
            recorded = self._insert(
                conn,
                campaign_id=campaign_id,
                group_id=first.group_id,
                member_id=member_id,
                member_name=member_name,
                by_id=owner,
                inviter_name=owner_name,
                source=CODE,
                joined_at=first.first_seen_at,
                seen_elsewhere=False,
                created_at=now,
            )
            if recorded is None:
                return Bound(ALREADY)
            return Bound(BOUND, recorded, owner_name)

    @staticmethod
    def _insert(conn: Connection, **values: Any) -> Recorded | None:
        """Write the invite, unless the campaign already closed in its group (a leader's early
        `/close`: the close's decisions are made, a later invite would wait for nothing)."""
        state = conn.execute(
            select(STATES.c.status).where(
                STATES.c.campaign_id == values["campaign_id"], STATES.c.group_id == values["group_id"]
            )
        ).scalar()
        if state == SaleStatus.CLOSED:
            return None
        insert = upsert_insert(conn)
        done = conn.execute(
            insert(INVITES)
            .values(status=PENDING, **values)
            .on_conflict_do_nothing(index_elements=[INVITES.c.member_id])
        ).rowcount
        if done != 1:
            return None
        invite_id = conn.execute(
            select(INVITES.c.id).where(INVITES.c.member_id == values["member_id"])
        ).scalar_one()
        return Recorded(int(invite_id), values["campaign_id"], values["group_id"], values["by_id"])

    def note_leave(self, group_id: str, member_ids: list[str], now: datetime) -> list[tuple[str, str]]:
        """Note the first leave of this group's pending invitees; the (campaign, group) boards changed."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                select(INVITES.c.campaign_id, INVITES.c.group_id)
                .where(
                    INVITES.c.group_id == group_id,
                    INVITES.c.member_id.in_(member_ids),
                    INVITES.c.status == PENDING,
                    INVITES.c.left_at.is_(None),
                )
                .distinct()
            ).all()
            conn.execute(
                update(INVITES)
                .where(
                    INVITES.c.group_id == group_id,
                    INVITES.c.member_id.in_(member_ids),
                    INVITES.c.status == PENDING,
                    INVITES.c.left_at.is_(None),
                )
                .values(left_at=now)
            )
        return [(r.campaign_id, r.group_id) for r in changed]

    # -- reads -------------------------------------------------------------------------------------
    def board(
        self, campaign_id: str, group_id: str, top: int, conn: Connection | None = None
    ) -> list[BoardRow]:
        """Inviters by invites that count: credited, or pending with the invitee still in the group.

        After the close every pending invite is decided, so the board is the credited count."""
        query = (
            select(INVITES.c.by_id, func.max(INVITES.c.inviter_name), func.count())
            .where(
                INVITES.c.campaign_id == campaign_id,
                INVITES.c.group_id == group_id,
                or_(
                    INVITES.c.status == CREDITED,
                    and_(INVITES.c.status == PENDING, INVITES.c.left_at.is_(None)),
                ),
            )
            .group_by(INVITES.c.by_id)
            .order_by(func.count().desc(), func.min(INVITES.c.id))
            .limit(top)
        )
        if conn is None:
            with self.engine.connect() as own:
                rows = own.execute(query).all()
        else:
            rows = conn.execute(query).all()
        return [BoardRow(r[0], r[1] or "", int(r[2])) for r in rows]

    def held(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(select(INVITES).where(INVITES.c.status == HELD).order_by(INVITES.c.id)).all()
            )

    def invite(self, invite_id: int, conn: Connection | None = None) -> Any:
        query = select(INVITES).where(INVITES.c.id == invite_id)
        if conn is not None:
            return conn.execute(query).first()
        with self.engine.connect() as own:
            return own.execute(query).first()

    def invites_of(self, campaign_id: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(INVITES).where(INVITES.c.campaign_id == campaign_id).order_by(INVITES.c.id)
                ).all()
            )


def spoke_by(conn: Connection, member_ids: list[str], until: datetime) -> set[str]:
    """Which of these members sent a group message (in any group) by `until`."""
    if not member_ids:
        return set()
    rows = conn.execute(
        select(INBOUND.c.sender_id)
        .where(INBOUND.c.sender_id.in_(member_ids), INBOUND.c.kind == "group", INBOUND.c.time <= until)
        .distinct()
    ).all()
    return {r[0] for r in rows}


__all__ = [
    "ALREADY",
    "BIND_WITHIN",
    "BOUND",
    "CYCLE",
    "NOT_NEW",
    "NO_CAMPAIGN",
    "OWN_CODE",
    "UNKNOWN_CODE",
    "BoardRow",
    "Bound",
    "Recorded",
    "ReferralStore",
    "new_code",
    "spoke_by",
]
