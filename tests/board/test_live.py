"""Live figures cost nothing while nothing moves: the snapshot is recomputed only when an order, a
message, a node or the outbox has moved, and then at most once per interval for every viewer."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.board.kit import G1, board_shop
from tests.fakes import FakeClock


async def test_a_quiet_sale_is_not_recomputed_and_an_order_is(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = board_shop(tmp_path, clock, refresh_seconds=0.05)
    await shop.open()
    await shop.say("A1 1", "alice", G1)
    assert shop.app.flush_inbound()  # the chat line is in the fingerprint: written, nothing moves after
    first = await board.live.snapshot("t1")
    assert first is not None and board.live.computed == 1
    for _ in range(3):  # past the interval, nothing moved: the same snapshot, not computed again
        await asyncio.sleep(0.08)
        assert await board.live.snapshot("t1") is first
    assert board.live.computed == 1
    await shop.say("A1 2", "bob", G1)
    assert shop.app.flush_inbound()
    await asyncio.sleep(0.08)
    second = await board.live.snapshot("t1")
    assert second is not None and second is not first and second.seq > first.seq
    assert board.live.computed == 2
    assert sum(o.quantity for o in second.orders) == 3
    many = await asyncio.gather(*(board.live.snapshot("t1") for _ in range(20)))
    assert all(s is second for s in many) and board.live.computed == 2  # within the interval: shared
    assert await board.live.snapshot("nope") is None
    board.close()
