"""Pickup clerks (核销员): member ids allowed to check off codes at a pickup point.

A clerk is a role by member id for a pickup point's name, granted in a group by its leader
(or an admin) with `/clerk add @member 东门`. The bare-code matcher (a clerk sends just
`K7Q3`) runs on the event loop for every private message, so who is a clerk is kept in
memory: read in one query at setup, and changed here with every `/clerk` change after its
commit. The matcher asks `is_clerk` and never reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.context import Services
from handlers.fulfilment.pickup_tables import CLERKS


@dataclass(frozen=True)
class Clerk:
    """One clerk role: `member_id` checks off codes of `point`, granted in `group_id`."""

    point: str
    member_id: str
    group_id: str
    added_by: str
    added_at: datetime


class ClerkBook:
    """Every clerk role, in memory, written through to `pickup_clerks`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._roles: dict[str, dict[tuple[str, str], Clerk]] = {}  # member -> (group, point) -> role

    def load(self) -> None:
        """Read every clerk role in one query (at setup)."""
        self.follow(self.read())

    def read(self) -> dict[str, dict[tuple[str, str], Clerk]]:
        """Every clerk role (off the loop; several accounts' peer sync reads it every second)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(CLERKS)).all()
        roles: dict[str, dict[tuple[str, str], Clerk]] = {}
        for r in rows:
            clerk = Clerk(r.point, r.member_id, r.group_id, r.added_by, r.added_at)
            roles.setdefault(clerk.member_id, {})[(clerk.group_id, clerk.point)] = clerk
        return roles

    def follow(self, roles: dict[str, dict[tuple[str, str], Clerk]]) -> None:
        """All roles, as read (at start, or from another account's process: `bot.shared_state`)."""
        self._roles = roles

    # -- memory only: safe on the loop, for every message --------------------------------------
    def is_clerk(self, member_id: str) -> bool:
        return bool(self._roles.get(member_id))

    def points_of(self, member_id: str) -> set[str]:
        """The pickup point names this member checks off codes for (in any group)."""
        return {point for _, point in self._roles.get(member_id, {})}

    def in_group(self, group_id: str) -> list[Clerk]:
        """The clerks granted in a group, by point then member."""
        found = [c for roles in self._roles.values() for c in roles.values() if c.group_id == group_id]
        return sorted(found, key=lambda c: (c.point, c.member_id))

    # -- changes: written, then remembered -----------------------------------------------------
    def add(self, point: str, member_id: str, group_id: str, by: str, now: datetime) -> bool:
        """Grant the role; False if the member already had it for this point in this group."""
        if (group_id, point) in self._roles.get(member_id, {}):
            return False
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(CLERKS).values(
                        point=point, member_id=member_id, group_id=group_id, added_by=by, added_at=now
                    )
                )
        except IntegrityError:  # granted meanwhile by another process: remember theirs
            self.load()
            return False
        self._roles.setdefault(member_id, {})[(group_id, point)] = Clerk(point, member_id, group_id, by, now)
        return True

    def remove(self, member_id: str, group_id: str, point: str | None = None) -> list[str]:
        """Revoke the member's roles granted in this group (only `point`'s when given); the points."""
        query = delete(CLERKS).where(CLERKS.c.member_id == member_id, CLERKS.c.group_id == group_id)
        if point is not None:
            query = query.where(CLERKS.c.point == point)
        with self.engine.begin() as conn:
            conn.execute(query)
        roles = self._roles.get(member_id, {})
        gone = sorted(p for g, p in roles if g == group_id and (point is None or p == point))
        for each in gone:
            roles.pop((group_id, each), None)
        if not roles:
            self._roles.pop(member_id, None)
        return gone


def clerk_book(services: Services) -> ClerkBook:
    """This app's clerk book (made, and loaded, on first use)."""
    found = services.find(ClerkBook)
    if found is None:
        found = services.provide(ClerkBook(services.repo.engine))
        found.load()
    return found


__all__ = ["Clerk", "ClerkBook", "clerk_book"]


def is_clerk(services: Services, member_id: str) -> bool:
    """Whether /help lists the clerks' commands for this member."""
    return clerk_book(services).is_clerk(member_id)
