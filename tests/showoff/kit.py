"""A sale with a `showoff:` section, closed, and pictures posted after it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.router import DispatchResult
from handlers.coupons.store import CouponStore
from tests.commerce.selling_kit import CLOSES, G1, Shop, build_shop, campaign_text
from tests.fakes import FakeClock

SHOWOFF = """\
coupons:
  - {id: thanks, reward: true, amount: 5, valid_for: 7d}
showoff: {first: 3, coupon: thanks, points: 30}
"""
TEXT = campaign_text(a1=5000, a2=5000, limit=50) + SHOWOFF


def text_with(first: int) -> str:
    return TEXT.replace("first: 3", f"first: {first}")


async def sold_shop(
    tmp_path: Path, clock: FakeClock, buyers: dict[str, str], *, text: str = TEXT, db_url: str | None = None
) -> Shop:
    """Open the sale, let each buyer order in their group (member -> group), and close it."""
    shop = build_shop(tmp_path, clock, text=text, db_url=db_url)
    await shop.open()
    for member, group in buyers.items():
        await shop.say("A1 1", member, group)
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    shop.transport.clear()
    return shop


def restarted(tmp_path: Path, clock: FakeClock, text: str = TEXT) -> Shop:
    """A new process on the same database and campaign file."""
    return build_shop(tmp_path, clock, text=text)


async def picture(shop: Shop, member: str, group: str = G1, *, drain: bool = True) -> DispatchResult:
    """`member` posts a picture in `group` (what the simulator's `[图片]` and wechaty's Image make)."""
    msg = replace(shop.message("", member, group), kind="image")
    return await shop.transport.inject(msg, drain=drain)


def coupons_of(shop: Shop, member: str) -> list[str]:
    return [c.code for c in CouponStore(shop.app.services.repo.engine).held("t1", "thanks", member)]
