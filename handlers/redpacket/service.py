"""Red-packet bursts: starting one, grabbing, closing, and the audit trail.

The split is drawn when a burst starts and stored with it, so a leader can
audit exactly what was on offer (`/redpacket log`). A grab is one transaction:
take the next packet with a conditional UPDATE (only while the burst is open,
inside its window and not all taken), record the win under a unique
(burst, member) key, and issue the share as coupon credit. The grab that takes
the last packet also closes the burst, so its results are posted at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.storage.tables import OutboxRow
from handlers.coupons.wallet import CouponSpec, CouponStore
from handlers.redpacket.tables import RedPacketBurstRow, RedPacketGrab

REDPACKET_COUPON_PREFIX = "redpacket"


@dataclass(frozen=True)
class Burst:
    id: str
    group_id: str
    campaign_id: str
    keyword: str
    packets: int
    budget_cents: int
    shares: tuple[int, ...]
    grabbed: int
    status: str
    started_by: str
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    credit_until: datetime | None

    @classmethod
    def of(cls, row: RedPacketBurstRow) -> Burst:
        return cls(
            id=row.id,
            group_id=row.group_id,
            campaign_id=row.campaign_id,
            keyword=row.keyword,
            packets=row.packets,
            budget_cents=row.budget_cents,
            shares=tuple(json.loads(row.shares or "[]")),
            grabbed=row.grabbed,
            status=row.status,
            started_by=row.started_by,
            opened_at=row.opened_at,
            closes_at=row.closes_at,
            closed_at=row.closed_at,
            credit_until=row.credit_until,
        )


@dataclass(frozen=True)
class Winner:
    seq: int
    member_id: str
    name: str
    amount_cents: int
    coupon_code: str
    grabbed_at: datetime


@dataclass(frozen=True)
class GrabResult:
    """`won` (with seq, amount, code), `already` (won this burst before), `late` (window over) or `gone`."""

    status: str
    seq: int = 0
    amount_cents: int = 0
    coupon_code: str = ""
    closed_now: bool = False


class _Lost(Exception):
    def __init__(self, status: str) -> None:
        self.status = status


def coupon_id_for(burst_id: str) -> str:
    return f"{REDPACKET_COUPON_PREFIX}:{burst_id}"


class RedPacketStore:
    """Storage of bursts and grabs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def create(
        conn: Connection,
        *,
        burst_id: str,
        group_id: str,
        campaign_id: str,
        node_id: str,
        keyword: str,
        shares: list[int],
        opened_at: datetime,
        closes_at: datetime,
        credit_until: datetime | None,
        started_by: str,
    ) -> bool:
        """Start a burst inside the caller's transaction; False if one with this id exists."""
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(RedPacketBurstRow).values(
                        id=burst_id,
                        group_id=group_id,
                        campaign_id=campaign_id,
                        node_id=node_id,
                        keyword=keyword,
                        packets=len(shares),
                        budget_cents=sum(shares),
                        shares=json.dumps(shares),
                        grabbed=0,
                        status="open",
                        started_by=started_by,
                        opened_at=opened_at,
                        closes_at=closes_at,
                        credit_until=credit_until,
                    )
                )
        except IntegrityError:
            return False
        return True

    def get(self, burst_id: str) -> Burst | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(RedPacketBurstRow).where(col(RedPacketBurstRow.id) == burst_id)).first()
        return Burst.of(RedPacketBurstRow.model_validate(row._mapping)) if row else None

    def recent(self, group_id: str, limit: int = 5) -> list[Burst]:
        """The group's latest bursts, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(RedPacketBurstRow)
                .where(col(RedPacketBurstRow.group_id) == group_id)
                .order_by(col(RedPacketBurstRow.opened_at).desc(), col(RedPacketBurstRow.id).desc())
                .limit(limit)
            ).all()
        return [Burst.of(RedPacketBurstRow.model_validate(r._mapping)) for r in rows]

    def live(self, ended_after: datetime) -> list[Burst]:
        """Every group's bursts that are open or ended after `ended_after`, in one query (start-up)."""
        table = RedPacketBurstRow
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table).where(
                    or_(
                        col(table.status) == "open",
                        col(table.closed_at) > ended_after,
                        and_(col(table.closed_at).is_(None), col(table.closes_at) > ended_after),
                    )
                )
            ).all()
        return [Burst.of(RedPacketBurstRow.model_validate(r._mapping)) for r in rows]

    def winners(self, burst_id: str) -> list[Winner]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(RedPacketGrab)
                .where(col(RedPacketGrab.burst_id) == burst_id)
                .order_by(col(RedPacketGrab.seq))
            ).all()
        return [
            Winner(r.seq, r.member_id, r.member_name, r.amount_cents, r.coupon_code, r.grabbed_at)
            for r in rows
        ]

    def has_won(self, burst_id: str, member_id: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(col(RedPacketGrab.id)).where(
                    col(RedPacketGrab.burst_id) == burst_id, col(RedPacketGrab.member_id) == member_id
                )
            ).first()
        return row is not None

    def grab(self, burst: Burst, member_id: str, member_name: str, now: datetime) -> GrabResult:
        """Try to take the next packet of `burst` for `member_id` (atomic; see the module docstring)."""
        if self.has_won(burst.id, member_id):
            return GrabResult("already")
        try:
            with self.engine.begin() as conn:
                return self._grab_in(conn, burst, member_id, member_name, now)
        except _Lost as lost:
            return GrabResult(lost.status)
        except IntegrityError:
            return GrabResult("already")  # the same member's concurrent grab won

    def _grab_in(
        self, conn: Connection, burst: Burst, member_id: str, name: str, now: datetime
    ) -> GrabResult:
        table = RedPacketBurstRow
        taken = conn.execute(
            update(table)
            .where(
                col(table.id) == burst.id,
                col(table.status) == "open",
                col(table.grabbed) < col(table.packets),
                col(table.closes_at) > now,
            )
            .values(grabbed=col(table.grabbed) + 1)
        ).rowcount
        if not taken:
            grabbed = conn.execute(select(col(table.grabbed)).where(col(table.id) == burst.id)).scalar()
            raise _Lost("gone" if grabbed is not None and grabbed >= burst.packets else "late")
        seq = int(conn.execute(select(col(table.grabbed)).where(col(table.id) == burst.id)).scalar_one())
        amount = burst.shares[seq - 1]
        spec = CouponSpec(
            campaign_id=burst.campaign_id,
            coupon_id=coupon_id_for(burst.id),
            amount_cents=amount,
            min_spend_cents=0,
            valid_from=now,
            valid_until=burst.credit_until,
            source="redpacket",
            source_ref=burst.id,
        )
        coupon = CouponStore.insert_coupon(conn, spec, member_id, burst.group_id, now)
        conn.execute(
            insert(RedPacketGrab).values(
                burst_id=burst.id,
                seq=seq,
                member_id=member_id,
                member_name=name,
                amount_cents=amount,
                coupon_code=coupon.code,
                grabbed_at=now,
            )
        )
        closed_now = seq >= burst.packets and self.close_in(conn, burst.id, now)
        return GrabResult("won", seq, amount, coupon.code, closed_now)

    def announcement_pending(self, group_id: str, replace_key: str) -> bool:
        """Whether a post to `group_id` carrying `replace_key` (a burst's announcement) has not left yet.

        Read from the outbox table, whose rows say `queued`/`sending` until the network took
        them: a grab must not count in a group that has not been told about the burst.
        """
        with self.engine.connect() as conn:
            row = conn.execute(
                select(col(OutboxRow.id)).where(
                    col(OutboxRow.status).in_(("queued", "sending")),
                    col(OutboxRow.replace_key) == replace_key,
                    col(OutboxRow.group_id) == group_id,
                )
            ).first()
        return row is not None

    @staticmethod
    def close_in(conn: Connection, burst_id: str, now: datetime) -> bool:
        """Close an open burst; True for the one caller that closed it (and so posts its results)."""
        result = conn.execute(
            update(RedPacketBurstRow)
            .where(col(RedPacketBurstRow.id) == burst_id, col(RedPacketBurstRow.status) == "open")
            .values(status="closed", closed_at=now)
        )
        return bool(result.rowcount)

    def close(self, burst_id: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            return self.close_in(conn, burst_id, now)
