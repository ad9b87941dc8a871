"""Coupons given as a reward (a lottery prize, 晒单有礼), not claimed by typing a keyword.

A reward is issued in the caller's transaction (the draw's, the picture count's), outside the
coupon's quota and `per_member`: the reward's own rules (the lottery's winners, 晒单's first N)
decide who gets one. It takes the member's next free slot of that coupon.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from handlers.coupons.store import CouponSpec, CouponStore

SLOT_ATTEMPTS = 5


def issue_reward(conn: Connection, spec: CouponSpec, member_id: str, group_id: str, now: datetime) -> str:
    """The issued coupon's code, in the member's next free slot (a savepoint per try: a keyword
    claim taking the same slot meanwhile, or a code collision, costs one more try)."""
    for _ in range(SLOT_ATTEMPTS):
        held = CouponStore.held_count(conn, spec, member_id)
        try:
            with conn.begin_nested():
                issued = CouponStore.insert_coupon(conn, spec, member_id, group_id, now, slot=held + 1)
        except IntegrityError:
            continue
        return issued.code
    raise RuntimeError(f"could not issue the reward coupon {spec.coupon_id} to {member_id}")


__all__ = ["issue_reward"]
