"""The inbound bookkeeping as idempotent row operations, for the write-behind writer.

Each statement is built once per engine (SQLAlchemy then reuses its compiled form) and
absorbs what it may meet in the table (ON CONFLICT DO NOTHING / DO UPDATE, on SQLite and
PostgreSQL alike), so a batch can be retried whole and a redelivered message id is
ignored by the database key: the in-memory duplicate window decides, the key is the
backstop. The semantics are those of `Repo.touch_group`, `touch_member`, `record_join`,
`record_leave`, `set_bot_present` and `log_inbound` that `Repo` had before issue 14.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.storage.engine import upsert_insert
from bot.storage.rowops import RowOp
from bot.storage.tables import GroupRow, InboundMessage, MemberRow, Membership, UTCDateTime

# The order the writer may run these commuting upserts in (`RowOp.rank`): parents before the
# rows that reference them. Joins, leaves and presence changes are barriers (no rank).
RANK_GROUP, RANK_MEMBER, RANK_MEMBERSHIP, RANK_INBOUND = 0, 1, 2, 3


class Bookkeeping:
    """Row operations for the inbound log, groups, members and memberships of one engine."""

    def __init__(self, engine: Engine) -> None:
        insert = upsert_insert(engine)
        groups, members = GroupRow.__table__, MemberRow.__table__  # type: ignore[attr-defined]
        memberships, inbound = Membership.__table__, InboundMessage.__table__  # type: ignore[attr-defined]

        self._inbound = insert(inbound).on_conflict_do_nothing(index_elements=["message_id"])
        touch = insert(groups)
        self._group = touch.on_conflict_do_update(
            index_elements=["id"],
            set_={"name": touch.excluded.name, "updated_at": touch.excluded.updated_at},
            where=(touch.excluded.name != "") & (groups.c.name != touch.excluded.name),
        )
        present = insert(groups)
        self._present = present.on_conflict_do_update(
            index_elements=["id"],
            set_={"bot_present": present.excluded.bot_present, "updated_at": present.excluded.updated_at},
        )
        member = insert(members)
        self._member = member.on_conflict_do_update(
            index_elements=["id"],
            set_={"name": member.excluded.name, "updated_at": member.excluded.updated_at},
            where=(member.excluded.name != "") & (members.c.name != member.excluded.name),
        )
        self._member_if_new = insert(members).on_conflict_do_nothing(index_elements=["id"])
        self._seen = insert(memberships).on_conflict_do_nothing(index_elements=["group_id", "member_id"])
        join = insert(memberships)
        self._join = join.on_conflict_do_update(
            index_elements=["group_id", "member_id"],
            set_={"joined_at": join.excluded.joined_at, "left_at": None},
        )
        self._leave = (
            update(Membership)
            .where(
                col(Membership.group_id) == bindparam("g"),
                col(Membership.member_id) == bindparam("m"),
            )
            .values(left_at=bindparam("at", type_=UTCDateTime()))
        )

    def inbound(
        self, message_id: str, kind: str, group_id: str, sender_id: str, text: str, time: datetime
    ) -> RowOp:
        return RowOp(
            self._inbound,
            rank=RANK_INBOUND,
            params={
                "message_id": message_id,
                "kind": kind,
                "group_id": group_id,
                "sender_id": sender_id,
                "text": text,
                "time": time,
            },
        )

    def touch_group(self, group_id: str, name: str, now: datetime) -> RowOp:
        return RowOp(self._group, {"id": group_id, "name": name, "updated_at": now}, rank=RANK_GROUP)

    def bot_present(self, group_id: str, present: bool, now: datetime) -> RowOp:
        return RowOp(self._present, {"id": group_id, "bot_present": present, "updated_at": now})

    def touch_member(self, group_id: str, member_id: str, name: str, now: datetime) -> list[RowOp]:
        ops = [RowOp(self._member, {"id": member_id, "name": name, "updated_at": now}, rank=RANK_MEMBER)]
        if group_id:
            seen = {"group_id": group_id, "member_id": member_id, "first_seen_at": now}
            ops.append(RowOp(self._seen, seen, rank=RANK_MEMBERSHIP))
        return ops

    def join(self, group_id: str, member_id: str, name: str, now: datetime) -> list[RowOp]:
        return [
            RowOp(self._member_if_new, {"id": member_id, "name": name, "updated_at": now}),
            RowOp(
                self._join,
                {"group_id": group_id, "member_id": member_id, "first_seen_at": now, "joined_at": now},
            ),
        ]

    def leave(self, group_id: str, member_id: str, now: datetime) -> RowOp:
        return RowOp(self._leave, {"g": group_id, "m": member_id, "at": now})
