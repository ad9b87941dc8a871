"""Keyword claims reach the database in a worker thread, one at a time, in arrival order.

A claim is an atomic write (quota and per-member limit, `handlers.coupons.store`), so it
must hit the database; it need not hold the event loop while it does. Claims queue on
one asyncio lock (first come, first served) so a burst of keyword messages claims in the
order the messages arrived, as when they ran on the loop. Chatter never gets here: the
keyword is matched against the group's live campaigns in memory first.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.context import Services
from handlers.coupons.store import ClaimResult, CouponSpec, CouponStore


class ClaimLine:
    """The app's queue of keyword claims (one lock; made on first use)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()


def _line(services: Services) -> ClaimLine:
    return services.get_or_make(ClaimLine, ClaimLine)


async def claim(
    services: Services, spec: CouponSpec, member_id: str, group_id: str, now: datetime
) -> ClaimResult:
    """Issue the coupon if the quota and the member's limit allow (see `CouponStore.claim`)."""
    store = CouponStore(services.repo.engine)
    async with _line(services).lock:
        return await asyncio.to_thread(store.claim, spec, member_id, group_id, now)


async def notice_once(
    services: Services, campaign_id: str, coupon_id: str, group_id: str, kind: str, now: datetime
) -> bool:
    """True for the one caller that posts this notice in this group (e.g. "已领完")."""
    store = CouponStore(services.repo.engine)
    return await asyncio.to_thread(store.notice_once, campaign_id, coupon_id, group_id, kind, now)
