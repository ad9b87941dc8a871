"""Repository functions for groups, members, roles and the inbound log.

Each method is one short unit of work with its own session and an explicit
commit, so no stored object is ever mutated in memory without being written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.storage.tables import GroupRow, InboundMessage, MemberRow, Membership, RoleGrant

# Built once: SQLAlchemy then reuses the compiled statement instead of rebuilding it per message.
_INSERT_INBOUND = insert(InboundMessage)
_INSERT_MEMBER = insert(MemberRow)
_INSERT_MEMBERSHIP = insert(Membership)
PREFETCH_CHUNK = 500  # ids in one IN (…): well under SQLite's parameter limit


class Repo:
    """The bot's storage API; features add their own repositories beside it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Group names, read for every group of every timeline post; the inbound recorder notes a
        # new name here before its row is written (`note_group_name`; one bot process per database).
        self._group_names: dict[str, str] = {}

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    # -- groups and members -------------------------------------------------
    def note_group_name(self, group_id: str, name: str) -> None:
        """Remember a group's current name ahead of its row (the inbound writer commits it later)."""
        if name:
            self._group_names[group_id] = name

    def group_name(self, group_id: str) -> str:
        name = self._group_names.get(group_id)
        if name is None:
            with self.session() as s:
                row = s.get(GroupRow, group_id)
                name = self._group_names[group_id] = row.name if row and row.name else group_id
        return name

    def prefetch_group_names(self, upcoming: list[str]) -> None:
        """Read the names not yet known among the first `PREFETCH_CHUNK` of `upcoming` in one
        statement: a node run's fan-out renders a post per group, and a name read per group was an
        ORM session each on the event loop; a bounded read keeps one call short there too."""
        missing = [group_id for group_id in upcoming[:PREFETCH_CHUNK] if group_id not in self._group_names]
        if not missing:
            return
        query = select(col(GroupRow.id), col(GroupRow.name)).where(col(GroupRow.id).in_(missing))
        with self.engine.connect() as conn:
            found = dict(conn.execute(query).all())
        for group_id in missing:
            self._group_names.setdefault(group_id, found.get(group_id) or group_id)

    def known_group_ids(self) -> set[str]:
        with self.session() as s:
            return {r[0] for r in s.execute(select(col(GroupRow.id)))}

    def record_join(self, group_id: str, member_id: str, name: str, now: datetime) -> None:
        with self.session() as s:
            if s.get(MemberRow, member_id) is None:
                s.add(MemberRow(id=member_id, name=name, updated_at=now))
            row = s.get(Membership, (group_id, member_id))
            if row is None:
                row = Membership(group_id=group_id, member_id=member_id, first_seen_at=now)
            row.joined_at = now
            row.left_at = None
            s.add(row)
            s.commit()

    def member_count(self, group_id: str) -> int:
        with self.session() as s:
            count = s.execute(
                select(func.count())
                .select_from(Membership)
                .where(col(Membership.group_id) == group_id, col(Membership.left_at).is_(None))
            ).scalar_one()
            return int(count)

    def member_name(self, member_id: str) -> str:
        with self.session() as s:
            row = s.get(MemberRow, member_id)
            return row.name if row and row.name else member_id

    # -- roles ---------------------------------------------------------------
    def granted_members(self, group_id: str, role: str) -> set[str]:
        with self.session() as s:
            rows = s.execute(
                select(col(RoleGrant.member_id)).where(
                    col(RoleGrant.group_id) == group_id, col(RoleGrant.role) == role
                )
            )
            return {r[0] for r in rows}

    def all_granted(self, role: str) -> dict[str, set[str]]:
        """Every group's members granted `role` (one query, at start)."""
        found: dict[str, set[str]] = {}
        with self.session() as s:
            rows = s.execute(
                select(col(RoleGrant.group_id), col(RoleGrant.member_id)).where(col(RoleGrant.role) == role)
            )
            for group_id, member_id in rows:
                found.setdefault(group_id, set()).add(member_id)
        return found

    def grant_role(self, group_id: str, member_id: str, role: str, by: str, now: datetime) -> bool:
        """Grant a role; False if it was already granted."""
        with self.session() as s:
            if s.get(RoleGrant, (group_id, member_id, role)) is not None:
                return False
            s.add(RoleGrant(group_id=group_id, member_id=member_id, role=role, granted_by=by, granted_at=now))
            s.commit()
            return True

    def revoke_role(self, group_id: str, member_id: str, role: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(RoleGrant).where(
                    col(RoleGrant.group_id) == group_id,
                    col(RoleGrant.member_id) == member_id,
                    col(RoleGrant.role) == role,
                )
            )
            return bool(result.rowcount)

    # -- inbound log ---------------------------------------------------------
    def recent_message_ids(self, limit: int) -> list[str]:
        """The newest `limit` logged message ids, oldest first: the duplicate window at start."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(InboundMessage.message_id)).order_by(col(InboundMessage.id).desc()).limit(limit)
            ).all()
        return [r[0] for r in reversed(rows)]
