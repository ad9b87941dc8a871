"""A sale with a `gifts:` section: five groups, plenty of stock, the real order writer."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from handlers.gifts.tables import ENTRIES, GIVEN
from handlers.selling.tables import ACTIVE, ORDERS
from tests.commerce.selling_kit import G1, G2, Shop, build_shop, campaign_text
from tests.conftest import make_config
from tests.fakes import FakeClock

GROUPS = (G1, G2, "团购三群", "团购四群", "团购五群")

GIFTS = """\
coupons:
  - {id: gift5, reward: true, amount: 5, valid_for: 7d}
gifts: {first: 3, gift: 保温杯一个, coupon: gift5, points: 20, on_cancel: pass}
"""


def text_with(gifts: str = GIFTS, *, groups: tuple[str, ...] = (G1, G2), **replace: str) -> str:
    section = gifts
    for old, new in replace.items():
        section = section.replace(old, new)
    return campaign_text(groups=groups, a1=5000, a2=5000, limit=50) + section


def five_group_shop(tmp_path: Path, clock: FakeClock, text: str, db_url: str | None = None) -> Shop:
    groups = {g: {"name": g, "leaders": [f"leader{i}"]} for i, g in enumerate(GROUPS)}
    config = make_config(tmp_path, db_url=db_url, groups=groups)
    return build_shop(tmp_path, clock, text=text, config=config)


async def order_all_at_once(shop: Shop, orders: list[tuple[str, str, str]]) -> None:
    """(member, group, text) messages handled concurrently, then every batch committed."""
    app = shop.app
    await asyncio.gather(
        *(app.handle_event(shop.message(text, member, group)) for member, group, text in orders)
    )
    await app.services.settle()
    await app.services.outbox.drain()


def holders(shop: Shop) -> dict[str, int]:
    """member -> gift number, of the members holding a gift."""
    with shop.app.services.repo.engine.connect() as conn:
        rows = conn.execute(
            select(ENTRIES.c.member_id, ENTRIES.c.seq).where(
                ENTRIES.c.campaign_id == "t1", ENTRIES.c.status == GIVEN
            )
        ).all()
    return {r[0]: int(r[1]) for r in rows}


def first_orders(shop: Shop, codes: tuple[str, ...] | None = None) -> list[str]:
    """Members by their first order's id (commit order on SQLite), counting orders only."""
    query = select(ORDERS.c.member_id, ORDERS.c.id).where(
        ORDERS.c.campaign_id == "t1", ORDERS.c.status == ACTIVE
    )
    if codes:
        query = query.where(ORDERS.c.product_code.in_(codes))
    with shop.app.services.repo.engine.connect() as conn:
        rows = conn.execute(query.order_by(ORDERS.c.id)).all()
    return list(dict.fromkeys(r[0] for r in rows))


__all__ = [
    "G1",
    "G2",
    "GIFTS",
    "GROUPS",
    "first_orders",
    "five_group_shop",
    "holders",
    "order_all_at_once",
    "text_with",
]
