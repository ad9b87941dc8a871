"""Welcome storage: per-group settings, the pending-newcomer list, and "welcomed once".

Join bursts are combined through the outbox: each newcomer is added to the
group's pending list and the whole list is re-rendered into one queued post
(`replace_key="welcome"`, delayed), which the outbox replaces while it waits.
The list lives in the database so a restart neither forgets nor repeats anyone;
it starts afresh once the post it fed has left the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.storage.tables import GroupRow, Membership, OutboxRow
from handlers.welcome.tables import PendingWelcome, WelcomeSettings

STREAM_BATCH = 10_000
"""Rows fetched at a time by the start-up read of every group's leavers."""


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Newcomer:
    member_id: str
    name: str
    inviter_name: str = ""


class WelcomeStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- settings ----------------------------------------------------------------
    def settings(self, group_id: str) -> tuple[bool, str]:
        """(enabled, custom template source or "")."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(col(WelcomeSettings.enabled), col(WelcomeSettings.template)).where(
                    col(WelcomeSettings.group_id) == group_id
                )
            ).first()
        return (True, "") if row is None else (bool(row[0]), str(row[1]))

    def save_settings(
        self,
        group_id: str,
        *,
        by: str,
        now: datetime,
        enabled: bool | None = None,
        template: str | None = None,
    ) -> None:
        current_enabled, current_template = self.settings(group_id)
        values = {
            "enabled": current_enabled if enabled is None else enabled,
            "template": current_template if template is None else template,
            "updated_by": by,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(WelcomeSettings).where(col(WelcomeSettings.group_id) == group_id).values(**values)
            ).rowcount
            if not changed:
                conn.execute(insert(WelcomeSettings).values(group_id=group_id, **values))

    # -- once per member ---------------------------------------------------------------
    def mark_welcomed(self, group_id: str, member_id: str, now: datetime) -> bool:
        """Claim the member's one welcome; False if they were welcomed before (or by a concurrent event)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(Membership)
                .where(
                    col(Membership.group_id) == group_id,
                    col(Membership.member_id) == member_id,
                    col(Membership.welcomed_at).is_(None),
                )
                .values(welcomed_at=now)
            )
            return bool(result.rowcount)

    def rejoined_unreported(self, group_id: str, member_id: str) -> bool:
        """True if the member was seen leaving and is back without a reported join or a welcome.

        The bot saw them leave, so they must have rejoined while it was watching the
        group: a real join WeChat did not report. A first message alone proves nothing,
        since members who were there before the bot arrived also speak for a first time.
        """
        with self.engine.connect() as conn:
            row = conn.execute(
                select(col(Membership.joined_at), col(Membership.left_at), col(Membership.welcomed_at)).where(
                    col(Membership.group_id) == group_id, col(Membership.member_id) == member_id
                )
            ).first()
        if row is None:
            return False
        joined_at, left_at, welcomed_at = row
        if welcomed_at is not None or left_at is None:
            return False
        return joined_at is None or _utc(joined_at) <= _utc(left_at)

    def rejoin_candidates(self, group_id: str, limit: int) -> list[str]:
        """Up to `limit` members of the group who could pass `rejoined_unreported` (a superset is fine).

        Read per group only by a memory made without the bulk read (`handlers.welcome.leavers`).
        """
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(Membership.member_id))
                .where(
                    col(Membership.group_id) == group_id,
                    col(Membership.left_at).is_not(None),
                    col(Membership.welcomed_at).is_(None),
                )  # a join clears left_at, so this is `rejoined_unreported`'s test without the times
                .limit(limit)
            ).all()
        return [str(r[0]) for r in rows]

    def all_rejoin_candidates(self, per_group: int) -> Iterator[tuple[str, str]]:
        """Every group's members who could pass `rejoined_unreported`: `(group_id, member_id)`,
        at most `per_group` a group.

        One query for all groups, when the app is built (`handlers.welcome.leavers`), so the
        welcome's matcher knows every leaver from memory and chatter costs no query. The rows
        stream in batches and a group's rows past `per_group` are skipped as they pass, so
        memory stays bounded whatever the table holds. (A window function bounding them in SQL
        made SQLite walk the primary-key index instead of the table: 3x slower at 500,000 rows.)
        """
        statement = select(col(Membership.group_id), col(Membership.member_id)).where(
            col(Membership.left_at).is_not(None), col(Membership.welcomed_at).is_(None)
        )  # a join clears left_at, so this is `rejoined_unreported`'s test without the times
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for group_id, member_id in conn.execution_options(yield_per=STREAM_BATCH).execute(statement):
                taken = counts.get(group_id, 0)
                if taken < per_group:
                    counts[group_id] = taken + 1
                    yield str(group_id), str(member_id)

    def known_member_count(self, group_id: str, counted: int) -> int:
        """The larger of the transport-reported size (if any) and the members the bot has seen."""
        with self.engine.connect() as conn:
            reported = conn.execute(
                select(col(GroupRow.member_count)).where(col(GroupRow.id) == group_id)
            ).scalar()
        return max(int(reported or 0), counted)

    # -- pending list -------------------------------------------------------------------
    def add_pending(
        self,
        group_id: str,
        newcomers: list[Newcomer],
        now: datetime,
        queued_among: Callable[[set[int]], set[int]] | None = None,
    ) -> list[Newcomer]:
        """Add newcomers to the group's pending welcome; return everyone it should now name, in join order.

        If the post the list last fed is no longer queued (it was sent), the list starts afresh.
        `added_at` strictly increases (by a microsecond where joins share an instant), so the
        names keep the order members joined in and never fall back to their ids' string order.
        """
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(PendingWelcome)
                .where(col(PendingWelcome.group_id) == group_id)
                .order_by(col(PendingWelcome.added_at))
            ).all()
            outbox_ids = {r.outbox_id for r in rows if r.outbox_id is not None}
            still_queued: set[int] = set()
            if queued_among is not None:  # the outbox's own answer: its table is written behind
                still_queued = queued_among(outbox_ids)
            elif outbox_ids:
                statement = select(col(OutboxRow.id)).where(
                    col(OutboxRow.id).in_(outbox_ids), col(OutboxRow.status) == "queued"
                )
                still_queued = {r[0] for r in conn.execute(statement) if r[0] is not None}
            stale = [r.member_id for r in rows if r.outbox_id is not None and r.outbox_id not in still_queued]
            if stale:
                conn.execute(
                    delete(PendingWelcome).where(
                        col(PendingWelcome.group_id) == group_id, col(PendingWelcome.member_id).in_(stale)
                    )
                )
            latest = max((_utc(r.added_at) for r in rows), default=None)
            for newcomer in newcomers:
                at = now if latest is None or now > latest else latest + timedelta(microseconds=1)
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(PendingWelcome).values(
                                group_id=group_id,
                                member_id=newcomer.member_id,
                                name=newcomer.name,
                                inviter_name=newcomer.inviter_name,
                                added_at=at,
                            )
                        )
                    latest = at
                except IntegrityError:
                    pass
            rows = conn.execute(
                select(PendingWelcome)
                .where(col(PendingWelcome.group_id) == group_id)
                .order_by(col(PendingWelcome.added_at))
            ).all()
        return [Newcomer(r.member_id, r.name, r.inviter_name) for r in rows]

    def set_pending_outbox(self, group_id: str, member_ids: list[str], outbox_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(PendingWelcome)
                .where(
                    col(PendingWelcome.group_id) == group_id, col(PendingWelcome.member_id).in_(member_ids)
                )
                .values(outbox_id=outbox_id)
            )
