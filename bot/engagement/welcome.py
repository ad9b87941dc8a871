"""Welcome storage: per-group settings, the pending-newcomer list, and "welcomed once".

Join bursts are combined through the outbox: each newcomer is added to the
group's pending list and the whole list is re-rendered into one queued post
(`replace_key="welcome"`, delayed), which the outbox replaces while it waits.
The list lives in the database so a restart neither forgets nor repeats anyone;
it starts afresh once the post it fed has left the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.engagement.tables import PendingWelcome, WelcomeSettings
from bot.storage.tables import GroupRow, Membership, OutboxRow


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

    def unseen_join(self, group_id: str, member_id: str, warmup_seconds: float) -> bool:
        """True if the member is a newcomer whose join was never reported.

        They have no join and no welcome on record, and they first appeared at
        least `warmup_seconds` after the bot began watching the group, so the
        members already there when the bot arrived are not taken for newcomers.
        """
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Membership).where(
                    col(Membership.group_id) == group_id, col(Membership.member_id) == member_id
                )
            ).first()
            if row is None:
                return False
            membership = Membership.model_validate(row._mapping)
            if membership.joined_at is not None or membership.welcomed_at is not None:
                return False
            watching_since = conn.execute(
                select(func.min(col(Membership.first_seen_at))).where(col(Membership.group_id) == group_id)
            ).scalar_one()
        if watching_since is None:
            return False
        if watching_since.tzinfo is None:  # func.min may skip the column type's result processing
            watching_since = watching_since.replace(tzinfo=UTC)
        return (membership.first_seen_at - watching_since).total_seconds() >= warmup_seconds

    def known_member_count(self, group_id: str, counted: int) -> int:
        """The larger of the transport-reported size (if any) and the members the bot has seen."""
        with self.engine.connect() as conn:
            reported = conn.execute(
                select(col(GroupRow.member_count)).where(col(GroupRow.id) == group_id)
            ).scalar()
        return max(int(reported or 0), counted)

    # -- pending list -------------------------------------------------------------------
    def add_pending(self, group_id: str, newcomers: list[Newcomer], now: datetime) -> list[Newcomer]:
        """Add newcomers to the group's pending welcome; return everyone it should now name.

        If the post the list last fed is no longer queued (it was sent), the list starts afresh.
        """
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(PendingWelcome)
                .where(col(PendingWelcome.group_id) == group_id)
                .order_by(col(PendingWelcome.added_at))
            ).all()
            outbox_ids = {r.outbox_id for r in rows if r.outbox_id is not None}
            still_queued = set()
            if outbox_ids:
                still_queued = {
                    r[0]
                    for r in conn.execute(
                        select(col(OutboxRow.id)).where(
                            col(OutboxRow.id).in_(outbox_ids), col(OutboxRow.status) == "queued"
                        )
                    )
                }
            stale = [r.member_id for r in rows if r.outbox_id is not None and r.outbox_id not in still_queued]
            if stale:
                conn.execute(
                    delete(PendingWelcome).where(
                        col(PendingWelcome.group_id) == group_id, col(PendingWelcome.member_id).in_(stale)
                    )
                )
            for newcomer in newcomers:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(PendingWelcome).values(
                                group_id=group_id,
                                member_id=newcomer.member_id,
                                name=newcomer.name,
                                inviter_name=newcomer.inviter_name,
                                added_at=now,
                            )
                        )
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
