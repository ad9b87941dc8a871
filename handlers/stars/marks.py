"""Helpful marks: a leader, by id, marks a member's answer helpful (`/helpful @成员`, `/赞 名字`).

A name is resolved among the group's current members by their latest display name; two members
with that name are ambiguous and nobody is marked (the leader is asked to @ the one they mean).
One mark per (group, member, leader, local day) counts: marking the same answer again, or the
same member all day, adds nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.storage.engine import upsert_insert
from bot.storage.tables import MemberRow, Membership
from handlers.stars.tables import MARKS

MEMBERS = MemberRow.__table__  # type: ignore[attr-defined]
MEMBERSHIPS = Membership.__table__  # type: ignore[attr-defined]


def members_named(engine: Engine, group_id: str, name: str) -> list[str]:
    """Ids of the group's current members whose latest display name is `name`."""
    query = (
        select(MEMBERS.c.id)
        .join(MEMBERSHIPS, MEMBERSHIPS.c.member_id == MEMBERS.c.id)
        .where(
            MEMBERSHIPS.c.group_id == group_id,
            MEMBERSHIPS.c.left_at.is_(None),
            MEMBERS.c.name == name,
        )
        .order_by(MEMBERS.c.id)
    )
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(query).all()]


def name_of(engine: Engine, member_id: str) -> str:
    with engine.connect() as conn:
        found = conn.execute(select(MEMBERS.c.name).where(MEMBERS.c.id == member_id)).scalar_one_or_none()
    return str(found or "")


def mark(engine: Engine, group_id: str, member_id: str, by: str, day: str, now: datetime) -> bool:
    """Record the mark; False if this leader already marked this member today."""
    with engine.begin() as conn:
        insert = upsert_insert(conn)
        written = conn.execute(
            insert(MARKS)
            .values(group_id=group_id, member_id=member_id, marked_by=by, day=day, created_at=now)
            .on_conflict_do_nothing(
                index_elements=[MARKS.c.group_id, MARKS.c.member_id, MARKS.c.marked_by, MARKS.c.day]
            )
        ).rowcount
    return written == 1


__all__ = ["mark", "members_named", "name_of"]
