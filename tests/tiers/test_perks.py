"""Selling's `MemberPerks` seam, answered by the tiers book from memory: no statement for any
member, on any thread; perks end at the tier's expiry with no recompute, falling to the tier
below; and with tiers off, no provider is registered (selling then gives everyone NO_PERKS)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from handlers.selling.perks import NO_PERKS, MemberPerks, Perks
from handlers.selling.tables import ORDERS
from handlers.tiers.book import TierBook
from tests.commerce.selling_kit import G1
from tests.fakes import FakeClock
from tests.tiers.kit import TIERS, add_earlier_sale, run_sale, tier_shop


async def test_perks_are_answered_from_memory_without_a_statement(tmp_path: Path, clock: FakeClock) -> None:
    shop = tier_shop(tmp_path, clock)
    await run_sale(shop, "t1", [("bob", "A2 5", G1)])
    provider = shop.app.services.find(MemberPerks)  # type: ignore[type-abstract]
    assert provider is not None
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = shop.app.services.repo.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        answers = [provider.perks(member, "t1") for member in ("bob", "alice", "nobody") * 200]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements == []
    assert answers[:3] == [Perks(30, 2, 5, "VIP"), NO_PERKS, NO_PERKS]


async def test_a_tier_ends_at_its_expiry_from_memory_and_the_tier_below_runs_on(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = tier_shop(tmp_path, clock)
    add_earlier_sale(shop, tmp_path)
    await run_sale(shop, "t0", [("bob", "A2 5", G1)])  # ¥102.50 a week earlier: VIP
    await run_sale(shop, "t1", [("bob", "A1 3", G1)])  # ¥30 in t1: 银卡 alone, VIP by 2 sales
    book = shop.app.services.get(TierBook)
    with shop.app.services.repo.engine.connect() as conn:
        first, last = conn.execute(
            select(ORDERS.c.created_at).where(ORDERS.c.member_id == "bob").order_by(ORDERS.c.id)
        ).scalars()
    assert book.perks("bob", "t1").tier == "VIP"
    clock.set(first + timedelta(days=90) - timedelta(seconds=1))
    assert book.perks("bob", "t1").tier == "VIP"  # the t0 purchase still counts
    clock.set(first + timedelta(days=90))
    assert book.perks("bob", "t1") == Perks(0, 1, 0, "银卡")  # it left the window: ¥30 and one sale
    clock.set(last + timedelta(days=90))
    assert book.perks("bob", "t1") == NO_PERKS


def test_tiers_off_or_undeclared_register_no_provider(tmp_path: Path, clock: FakeClock) -> None:
    off = tier_shop(tmp_path / "off", clock, tiers={**TIERS, "enabled": False})
    assert off.app.services.find(MemberPerks) is None  # type: ignore[type-abstract]
    none = tier_shop(tmp_path / "none", clock, tiers={})
    assert none.app.services.find(MemberPerks) is None  # type: ignore[type-abstract]
