"""The coupon tables' one writer: issuing, listing and consuming coupons.

A claim is one transaction: bump the coupon's counter only while it is below
the quota (a conditional UPDATE whose row count says whether we won), count the
member's coupons, insert the new one in the next free slot. The counter UPDATE
also serialises claims of one coupon on PostgreSQL (row lock) and takes
SQLite's write lock first, so neither the quota nor the per-member limit can be
exceeded by a burst of claims, and a refused claim leaves nothing behind.

Coupons are consumed once, when the campaign closes: pricing (the orders
feature) shows the best coupon in each order confirmation and, at closing,
redeems the coupon each buyer's final quote chose through the wallet's
`redeem` — at most one coupon per member and campaign — and the red-packet
credit it applied through `redeem_credit`.

Validity includes its end (`valid_from <= now <= valid_until`): a coupon "valid
until close" is valid at the close instant, which is when the close settles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from handlers.coupons.codes import new_code
from handlers.coupons.tables import CouponCounter, CouponNotice, CouponRedemption, CouponRow

CODE_ATTEMPTS = 5


# A member's 我的订单 reads these: built once with bound parameters (building a select and its
# cache key on every read cost more than running it).
_USABLE = select(CouponRow).where(
    col(CouponRow.member_id) == bindparam("member"),
    col(CouponRow.status) == "issued",
    or_(col(CouponRow.campaign_id) == bindparam("campaign"), col(CouponRow.campaign_id) == ""),
    col(CouponRow.valid_from) <= bindparam("now"),
    or_(col(CouponRow.valid_until).is_(None), col(CouponRow.valid_until) >= bindparam("now")),
)
_CONSUMED_BY = select(CouponRow).where(
    col(CouponRow.member_id) == bindparam("member"), col(CouponRow.consumed_ref) == bindparam("ref")
)


@dataclass(frozen=True)
class CouponSpec:
    """What to issue: the campaign coupon's terms, resolved to cents and times."""

    campaign_id: str
    coupon_id: str
    amount_cents: int
    min_spend_cents: int
    valid_from: datetime
    valid_until: datetime | None
    quota: int | None = None
    per_member: int = 1
    products: tuple[str, ...] = ()
    source: str = "keyword"
    source_ref: str = ""


@dataclass(frozen=True)
class IssuedCoupon:
    code: str
    coupon_id: str
    campaign_id: str
    amount_cents: int
    min_spend_cents: int
    products: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime | None
    status: str
    source: str

    @classmethod
    def of(cls, row: CouponRow) -> IssuedCoupon:
        return cls(
            code=row.code,
            coupon_id=row.coupon_id,
            campaign_id=row.campaign_id,
            amount_cents=row.amount_cents,
            min_spend_cents=row.min_spend_cents,
            products=tuple(p for p in row.products.split(",") if p),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            status=row.status,
            source=row.source,
        )


@dataclass(frozen=True)
class ClaimResult:
    """`issued` (with the coupon), `already` (member at their limit) or `exhausted` (quota used up)."""

    status: str
    coupon: IssuedCoupon | None = None


class _Refused(Exception):
    def __init__(self, status: str) -> None:
        self.status = status


class CouponStore:
    """Coupon storage; each public method is one short transaction unless given a connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- issuing ------------------------------------------------------------------
    def _ensure_counter(self, campaign_id: str, coupon_id: str) -> None:
        key = (col(CouponCounter.campaign_id) == campaign_id, col(CouponCounter.coupon_id) == coupon_id)
        with self.engine.connect() as conn:
            if conn.execute(select(CouponCounter.issued).where(*key)).first() is not None:  # type: ignore[call-overload]
                return
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(CouponCounter).values(campaign_id=campaign_id, coupon_id=coupon_id, issued=0)
                )
        except IntegrityError:
            pass  # created by a concurrent claim

    def held(self, campaign_id: str, coupon_id: str, member_id: str) -> list[IssuedCoupon]:
        """Coupons of this kind the member already holds (any status)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CouponRow).where(
                    col(CouponRow.campaign_id) == campaign_id,
                    col(CouponRow.coupon_id) == coupon_id,
                    col(CouponRow.member_id) == member_id,
                )
            ).all()
        return [IssuedCoupon.of(CouponRow.model_validate(r._mapping)) for r in rows]

    def claim(self, spec: CouponSpec, member_id: str, group_id: str, now: datetime) -> ClaimResult:
        """Issue one coupon to `member_id` if the quota and their limit allow; atomic under bursts."""
        if len(self.held(spec.campaign_id, spec.coupon_id, member_id)) >= spec.per_member:
            return ClaimResult("already")
        self._ensure_counter(spec.campaign_id, spec.coupon_id)
        for _ in range(CODE_ATTEMPTS):
            code = new_code()
            try:
                with self.engine.begin() as conn:
                    coupon = self._claim_in(conn, spec, member_id, group_id, now, code)
                return ClaimResult("issued", coupon)
            except _Refused as refused:
                return ClaimResult(refused.status)
            except IntegrityError as exc:
                if "code" in str(exc.orig).lower() and "slot" not in str(exc.orig).lower():
                    continue  # a code collision (about 1 in 2^59): draw another
                return ClaimResult("already")  # a concurrent claim of the same member took the slot
        raise RuntimeError("could not draw a unique coupon code")

    def _claim_in(
        self, conn: Connection, spec: CouponSpec, member_id: str, group_id: str, now: datetime, code: str
    ) -> IssuedCoupon:
        counter = col(CouponCounter.issued)
        where = [
            col(CouponCounter.campaign_id) == spec.campaign_id,
            col(CouponCounter.coupon_id) == spec.coupon_id,
        ]
        if spec.quota is not None:
            where.append(counter < spec.quota)
        if not conn.execute(update(CouponCounter).where(*where).values(issued=counter + 1)).rowcount:
            raise _Refused("exhausted")
        held = self.held_count(conn, spec, member_id)
        if held >= spec.per_member:
            raise _Refused("already")
        return self.insert_coupon(conn, spec, member_id, group_id, now, code, slot=held + 1)

    @staticmethod
    def held_count(conn: Connection, spec: CouponSpec, member_id: str) -> int:
        """How many of this coupon the member holds (used or not): the next slot is one more."""
        found = conn.execute(
            select(func.count())
            .select_from(CouponRow)
            .where(
                col(CouponRow.campaign_id) == spec.campaign_id,
                col(CouponRow.coupon_id) == spec.coupon_id,
                col(CouponRow.member_id) == member_id,
            )
        ).scalar_one()
        return int(found)

    @staticmethod
    def insert_coupon(
        conn: Connection,
        spec: CouponSpec,
        member_id: str,
        group_id: str,
        now: datetime,
        code: str | None = None,
        slot: int = 1,
    ) -> IssuedCoupon:
        """Insert a coupon row inside the caller's transaction (red-packet credit uses this directly)."""
        values = {
            "code": code or new_code(),
            "campaign_id": spec.campaign_id,
            "coupon_id": spec.coupon_id,
            "group_id": group_id,
            "member_id": member_id,
            "slot": slot,
            "source": spec.source,
            "source_ref": spec.source_ref,
            "amount_cents": spec.amount_cents,
            "min_spend_cents": spec.min_spend_cents,
            "products": ",".join(spec.products),
            "issued_at": now,
            "valid_from": spec.valid_from,
            "valid_until": spec.valid_until,
            "status": "issued",
        }
        conn.execute(insert(CouponRow).values(**values))
        return IssuedCoupon(
            code=str(values["code"]),
            coupon_id=spec.coupon_id,
            campaign_id=spec.campaign_id,
            amount_cents=spec.amount_cents,
            min_spend_cents=spec.min_spend_cents,
            products=spec.products,
            valid_from=spec.valid_from,
            valid_until=spec.valid_until,
            status="issued",
            source=spec.source,
        )

    def issued_count(self, campaign_id: str, coupon_id: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.count())
                .select_from(CouponRow)
                .where(col(CouponRow.campaign_id) == campaign_id, col(CouponRow.coupon_id) == coupon_id)
            ).scalar_one()
        return int(value)

    def notice_once(self, campaign_id: str, coupon_id: str, group_id: str, kind: str, now: datetime) -> bool:
        """True for the one caller that gets to post this notice in this group (e.g. "已领完")."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(CouponNotice).values(
                        campaign_id=campaign_id,
                        coupon_id=coupon_id,
                        group_id=group_id,
                        kind=kind,
                        posted_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    # -- reading --------------------------------------------------------------------
    def member_coupons(self, member_id: str, now: datetime) -> list[IssuedCoupon]:
        """The member's unused, unexpired coupons (including ones not valid yet), soonest expiry first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CouponRow).where(
                    col(CouponRow.member_id) == member_id,
                    col(CouponRow.status) == "issued",
                    or_(col(CouponRow.valid_until).is_(None), col(CouponRow.valid_until) >= now),
                )
            ).all()
        coupons = [IssuedCoupon.of(CouponRow.model_validate(r._mapping)) for r in rows]
        far = datetime.max.replace(tzinfo=now.tzinfo)
        return sorted(coupons, key=lambda c: (c.valid_until or far, c.code))

    @staticmethod
    def usable_rows(conn: Connection, member_id: str, campaign_id: str, now: datetime) -> list[IssuedCoupon]:
        rows = conn.execute(_USABLE, {"member": member_id, "campaign": campaign_id, "now": now}).all()
        return [IssuedCoupon.of(CouponRow.model_validate(r._mapping)) for r in rows]

    # -- consuming --------------------------------------------------------------------
    def redeem(self, member_id: str, campaign_id: str, coupon_id: str, now: datetime) -> bool:
        """`redeem_in` in a transaction of its own."""
        with self.engine.begin() as conn:
            return self.redeem_in(conn, member_id, campaign_id, coupon_id, now)

    @staticmethod
    def redeem_in(conn: Connection, member_id: str, campaign_id: str, coupon_id: str, now: datetime) -> bool:
        """Consume one `coupon_id` coupon of the member for `campaign_id`, once per member and campaign.

        The one chosen is the unused one expiring first. Validity is not
        checked again: pricing chose it while it was valid, and closing may run
        after a coupon "valid until closing" has lapsed. It runs in the caller's
        transaction (a savepoint), so a close settles on its own ledger claim's connection.
        """
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(CouponRedemption).values(
                        campaign_id=campaign_id, member_id=member_id, coupon_code="", redeemed_at=now
                    )
                )
                row = conn.execute(
                    select(col(CouponRow.code))
                    .where(
                        col(CouponRow.member_id) == member_id,
                        col(CouponRow.coupon_id) == coupon_id,
                        col(CouponRow.status) == "issued",
                        or_(col(CouponRow.campaign_id) == campaign_id, col(CouponRow.campaign_id) == ""),
                    )
                    .order_by(col(CouponRow.valid_until), col(CouponRow.id))
                    .limit(1)
                ).first()
                if row is None or not CouponStore.consume(conn, row[0], f"campaign:{campaign_id}", now):
                    raise _Refused("none")
                conn.execute(
                    update(CouponRedemption)
                    .where(
                        col(CouponRedemption.campaign_id) == campaign_id,
                        col(CouponRedemption.member_id) == member_id,
                    )
                    .values(coupon_code=row[0])
                )
        except (IntegrityError, _Refused):
            return False
        return True

    @staticmethod
    def consume(conn: Connection, code: str, ref: str, now: datetime) -> bool:
        """Mark a coupon consumed; False if it already was (so it is never used twice)."""
        result = conn.execute(
            update(CouponRow)
            .where(and_(col(CouponRow.code) == code, col(CouponRow.status) == "issued"))
            .values(status="consumed", consumed_at=now, consumed_ref=ref)
        )
        return bool(result.rowcount)

    def redeem_credit(self, member_id: str, campaign_id: str, code: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            return self.redeem_credit_in(conn, member_id, campaign_id, code, now)

    @staticmethod
    def redeem_credit_in(
        conn: Connection, member_id: str, campaign_id: str, code: str, now: datetime
    ) -> bool:
        """Consume one red-packet credit of the member for `campaign_id`; False if it already was."""
        mine = conn.execute(
            select(col(CouponRow.code)).where(
                col(CouponRow.code) == code,
                col(CouponRow.member_id) == member_id,
                col(CouponRow.source) == "redpacket",
                or_(col(CouponRow.campaign_id) == campaign_id, col(CouponRow.campaign_id) == ""),
            )
        ).first()
        return mine is not None and CouponStore.consume(conn, code, f"campaign:{campaign_id}", now)

    def consumed_by(self, member_id: str, campaign_id: str) -> list[IssuedCoupon]:
        with self.engine.connect() as conn:
            return self.consumed_by_in(conn, member_id, campaign_id)

    @staticmethod
    def consumed_by_in(conn: Connection, member_id: str, campaign_id: str) -> list[IssuedCoupon]:
        """The coupon and credits a campaign's close consumed for this member."""
        rows = conn.execute(_CONSUMED_BY, {"member": member_id, "ref": f"campaign:{campaign_id}"}).all()
        return [IssuedCoupon.of(CouponRow.model_validate(r._mapping)) for r in rows]

    def follow_close(self, campaign_id: str, old_close: datetime, new_close: datetime) -> int:
        """Coupons still issued "until close" keep that meaning when a leader moves the close.

        Their end was fixed when they were issued; without this, `/campaign delay` made every
        one lapse before the delayed close and the close redeemed none of them.
        """
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(CouponRow)
                .where(
                    col(CouponRow.campaign_id) == campaign_id,
                    col(CouponRow.status) == "issued",
                    col(CouponRow.valid_until) == old_close,
                )
                .values(valid_until=new_close)
            )
        return int(moved.rowcount or 0)

    def consumed(self, ref: str) -> list[tuple[str, str]]:
        """(member id, code) of coupons consumed by `ref` (e.g. `campaign:<id>`), for audits and tests."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(CouponRow.member_id), col(CouponRow.code)).where(
                    col(CouponRow.consumed_ref) == ref
                )
            ).all()
        return sorted((r[0], r[1]) for r in rows)


__all__ = ["CODE_ATTEMPTS", "ClaimResult", "CouponSpec", "CouponStore", "IssuedCoupon"]
