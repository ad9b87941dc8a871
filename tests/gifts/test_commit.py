"""A gift exists only if its batch committed: a rolled-back batch gives nothing and tells nobody,
and a restart goes on from what was committed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Connection

from handlers.points.ledger import points_of
from handlers.selling.ops import Operation, OpResult, PlaceOrder
from tests.commerce.selling_kit import build_shop
from tests.fakes import FakeClock
from tests.gifts.kit import G1, G2, holders, order_all_at_once, text_with


def fail_for(member: str):  # type: ignore[no-untyped-def]
    """A later feature's step that fails in any transaction holding `member`'s order."""

    def step(conn: Connection, ops: list[Operation], results: list[OpResult], now: datetime) -> None:
        if any(isinstance(op, PlaceOrder) and op.member_id == member for op in ops):
            raise RuntimeError("a later step failed")

    return step


async def test_a_rolled_back_batch_gives_no_gift_and_its_messages_never_leave(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock, text=text_with(**{"first: 3": "first: 4"}))
    await shop.open()
    shop.sell.store.extend(fail_for("x"))
    shop.transport.clear()

    # One batch: it rolls back as a whole (x's order fails), then each order is replayed alone.
    await order_all_at_once(shop, [("a", G1, "A1 1"), ("x", G1, "A1 1"), ("b", G2, "A1 1")])

    assert holders(shop) == {"a": 1, "b": 2}  # x's order never committed: no gift, no number used
    assert shop.sell.writer.stats.batches == 1
    assert shop.transport.private_texts("x") == []
    assert [len([t for t in shop.transport.private_texts(m) if "获赠" in t]) for m in ("a", "b")] == [1, 1]
    assert points_of(shop.app.services).awarded("gift", "t1") == {"a": 20, "b": 20}
    await shop.say("A1 1", "c", G1)
    assert holders(shop)["c"] == 3


async def test_a_restart_goes_on_from_the_committed_gifts(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=text_with())
    await shop.open()
    await shop.say("A1 1", "a", G1)
    await shop.say("A1 1", "b", G2)

    again = build_shop(tmp_path, clock, text=text_with())  # a new process on the same database
    for member, group in [("a", G1), ("c", G2), ("d", G1)]:
        await again.say("A1 1", member, group)
    assert holders(again) == {"a": 1, "b": 2, "c": 3}
    assert not any("获赠" in t for t in again.transport.private_texts("a"))  # a had theirs
    assert sum("已送完" in t for t in again.texts(G1)) == 1
