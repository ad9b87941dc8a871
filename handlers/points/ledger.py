"""The points ledger: the one way any feature gives or takes a member's points.

Guarantees, on SQLite and PostgreSQL, across threads and processes:

- **Idempotent awards.** (member, reason, ref) is a unique key: crediting the same award twice
  (a close run twice, a retried job, a restart) inserts one row and returns False the second time.
- **Balance = sum of the ledger.** The balance row changes in the transaction that writes its
  ledger row (`*_in` methods take the caller's transaction, so an award commits or rolls back
  with what it pays for: a close's claim, a lottery draw).
- **Never below zero.** A debit is one conditional `UPDATE … SET balance = balance - n WHERE
  member_id = m AND balance >= n`; its row count decides. PostgreSQL re-checks the condition on
  the latest row once a concurrent debit commits; SQLite has one writer at a time. A refused
  debit writes nothing (its ledger row is rolled back with a savepoint).

Callers that credit several members in one transaction should do so in member-id order, so two
such transactions on PostgreSQL take the balance rows' locks in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from bot.storage.engine import connected, upsert_insert
from handlers.points.tables import BALANCES, LEDGER

if TYPE_CHECKING:
    from bot.context import Services

MAX_AWARD = 100_000_000
"""More points than this in one credit or debit is a bug upstream (a price in fen read as yuan)."""


@dataclass(frozen=True)
class PointsEntry:
    """One ledger row as readers see it: `points` is signed (a debit is negative)."""

    id: int
    member_id: str
    points: int
    reason: str
    ref: str
    campaign_id: str
    group_id: str
    at: datetime


def _checked(points: int, reason: str, ref: str) -> None:
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= MAX_AWARD:
        raise ValueError(f"points must be a whole number from 1 to {MAX_AWARD}, got {points!r}")
    if not reason or not ref:
        raise ValueError("a points entry needs a reason and a ref (they make it happen once)")


class PointsLedger:
    """Credits, debits and balances; the feature's setup provides one per app (`points_of`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writes in the caller's transaction ----------------------------------------------------
    def credit_in(
        self,
        conn: Connection,
        member_id: str,
        points: int,
        reason: str,
        ref: str,
        *,
        now: datetime,
        campaign_id: str = "",
        group_id: str = "",
    ) -> bool:
        """Add points in the caller's transaction; False (and nothing written) if (member_id, reason,
        ref) was already credited."""
        _checked(points, reason, ref)
        if not self._record(conn, member_id, points, reason, ref, now, campaign_id, group_id):
            return False
        insert = upsert_insert(conn)
        conn.execute(
            insert(BALANCES)
            .values(member_id=member_id, balance=points, earned=points, updated_at=now)
            .on_conflict_do_update(
                index_elements=[BALANCES.c.member_id],
                set_={
                    "balance": BALANCES.c.balance + points,
                    "earned": BALANCES.c.earned + points,
                    "updated_at": now,
                },
            )
        )
        return True

    def debit_in(
        self,
        conn: Connection,
        member_id: str,
        points: int,
        reason: str,
        ref: str,
        *,
        now: datetime,
        campaign_id: str = "",
        group_id: str = "",
    ) -> bool:
        """Take points; False (nothing written) when the balance would go below zero or the ref was used."""
        _checked(points, reason, ref)
        with conn.begin_nested() as savepoint:
            taken = self._record(conn, member_id, -points, reason, ref, now, campaign_id, group_id) and (
                conn.execute(
                    update(BALANCES)
                    .where(BALANCES.c.member_id == member_id, BALANCES.c.balance >= points)
                    .values(balance=BALANCES.c.balance - points, updated_at=now)
                ).rowcount
                == 1
            )
            if not taken:
                savepoint.rollback()  # the ledger row of a refused debit goes too
        return taken

    # -- writes in their own transaction ---------------------------------------------------------
    def credit(
        self,
        member_id: str,
        points: int,
        reason: str,
        ref: str,
        *,
        now: datetime,
        campaign_id: str = "",
        group_id: str = "",
    ) -> bool:
        """`credit_in` in a transaction of its own."""
        with self.engine.begin() as conn:
            return self.credit_in(
                conn, member_id, points, reason, ref, now=now, campaign_id=campaign_id, group_id=group_id
            )

    def debit(
        self,
        member_id: str,
        points: int,
        reason: str,
        ref: str,
        *,
        now: datetime,
        campaign_id: str = "",
        group_id: str = "",
    ) -> bool:
        """`debit_in` in a transaction of its own."""
        with self.engine.begin() as conn:
            return self.debit_in(
                conn, member_id, points, reason, ref, now=now, campaign_id=campaign_id, group_id=group_id
            )

    # -- reads -----------------------------------------------------------------------------------
    def balance(self, member_id: str, conn: Connection | None = None) -> int:
        """The member's points now (0 for a member never credited); through `conn` it sees that
        transaction's own writes."""
        with connected(conn or self.engine) as reading:
            found = reading.execute(
                select(BALANCES.c.balance).where(BALANCES.c.member_id == member_id)
            ).scalar_one_or_none()
        return int(found or 0)

    def entries(self, member_id: str, limit: int = 10) -> list[PointsEntry]:
        """The member's latest ledger rows, newest first."""
        query = (
            select(LEDGER)
            .where(LEDGER.c.member_id == member_id)
            .order_by(LEDGER.c.id.desc())
            .limit(max(0, limit))
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            PointsEntry(r.id, r.member_id, r.points, r.reason, r.ref, r.campaign_id, r.group_id, r.created_at)
            for r in rows
        ]

    def awarded(self, reason: str, campaign_id: str, conn: Connection | None = None) -> dict[str, int]:
        """Points each member got for `reason` in a campaign (e.g. its orders), by member id."""
        query = (
            select(LEDGER.c.member_id, LEDGER.c.points)
            .where(LEDGER.c.reason == reason, LEDGER.c.campaign_id == campaign_id)
            .order_by(LEDGER.c.id)
        )
        totals: dict[str, int] = {}
        with connected(conn or self.engine) as reading:
            for member_id, points in reading.execute(query).all():
                totals[member_id] = totals.get(member_id, 0) + int(points)
        return totals

    # -- internals -------------------------------------------------------------------------------
    @staticmethod
    def _record(
        conn: Connection,
        member_id: str,
        points: int,
        reason: str,
        ref: str,
        now: datetime,
        campaign_id: str,
        group_id: str,
    ) -> bool:
        """Insert the ledger row unless (member, reason, ref) exists; True if this call inserted it."""
        insert = upsert_insert(conn)
        stmt = (
            insert(LEDGER)
            .values(
                member_id=member_id,
                points=points,
                reason=reason,
                ref=ref,
                campaign_id=campaign_id,
                group_id=group_id,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[LEDGER.c.member_id, LEDGER.c.reason, LEDGER.c.ref])
        )
        return bool(conn.execute(stmt).rowcount == 1)


def points_of(services: Services) -> PointsLedger:
    """services.get(PointsLedger); the feature's setup provides it."""
    return services.get(PointsLedger)


__all__ = ["MAX_AWARD", "PointsEntry", "PointsLedger", "points_of"]
