"""A sale with a `referral:` section: newcomers joining by invitation, ordering, and the close."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.router import DispatchResult
from handlers.referral.tables import INVITES, PAYOUTS
from tests.commerce.selling_kit import CLOSES, G1, OPENS, Shop, build_shop, campaign_text
from tests.factories import joined, left, private_message
from tests.fakes import FakeClock

REFERRAL = """\
coupons:
  - {id: invite_gift, reward: true, amount: 5, valid_for: 7d}
  - {id: ladder3, reward: true, amount: 20, valid_for: 30d}
referral:
  inviter: {coupon: invite_gift, points: 50}
  invitee: {points: 20}
  ladders:
    - {invites: 3, coupon: ladder3}
    - {invites: 10, points: 500}
  board: {top: 5, every: 30m}
"""
TEXT = campaign_text(a1=5000, a2=5000, limit=50) + REFERRAL
BEFORE = OPENS - timedelta(minutes=5)  # the campaign is active (its first node is T-10m)


def shop_of(tmp_path: Path, clock: FakeClock, *, text: str = TEXT, db_url: str | None = None) -> Shop:
    clock.set(BEFORE)
    return build_shop(tmp_path, clock, text=text, db_url=db_url)


async def join(
    shop: Shop, *members: str, by: str | None, group: str = G1, drain: bool = True
) -> DispatchResult:
    event = joined(*members, group=group, at=shop.clock.now(), inviter=by)
    return await shop.transport.inject(event, drain=drain)


async def leave(shop: Shop, *members: str, group: str = G1) -> DispatchResult:
    return await shop.transport.inject(left(*members, group=group, at=shop.clock.now()))


async def private(shop: Shop, text: str, sender: str) -> DispatchResult:
    return await shop.transport.inject(private_message(text, sender, at=shop.clock.now()))


async def close(shop: Shop) -> None:
    shop.clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()


def invites(shop: Shop) -> dict[str, tuple[str, str, str]]:
    """invitee -> (inviter, status, reasons)"""
    with shop.app.services.repo.engine.connect() as conn:
        rows = conn.execute(select(INVITES)).all()
    return {r.member_id: (r.by_id, r.status, r.reasons) for r in rows}


def payouts(shop: Shop) -> list[tuple[str, str]]:
    with shop.app.services.repo.engine.connect() as conn:
        rows = conn.execute(select(PAYOUTS.c.member_id, PAYOUTS.c.what).order_by(PAYOUTS.c.id)).all()
    return [(r[0], r[1]) for r in rows]
