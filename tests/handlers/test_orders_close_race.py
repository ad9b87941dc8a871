"""Acceptance 2: a close racing incoming orders; each order is either in (and counted) or politely refused."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from handlers.selling.store import Operation, OpResult, PlaceOrder
from tests.commerce.selling_kit import CLOSES, G1, build_shop, campaign_text
from tests.fakes import FakeClock


async def test_close_racing_orders(tmp_path: Path, clock: FakeClock, db_url: str) -> None:
    shop = build_shop(tmp_path, clock, db_url=db_url, text=campaign_text(groups=(G1,), a1=1000, limit=5))
    await shop.open()
    shop.transport.clear()
    writer = shop.sell.writer
    writer.max_batch = 20  # many small batches, so the close lands between two of them
    committed: list[tuple[Operation, OpResult]] = []
    original = writer.on_commit
    assert original is not None
    writer.on_commit = lambda ops, results: (committed.extend(zip(ops, results)), original(ops, results))[-1]

    tasks = [asyncio.create_task(shop.transport.inject(shop.message("A1 1", f"m{i}"), drain=False))
             for i in range(300)]  # fmt: skip
    while writer.stats.batches < 2:
        await asyncio.sleep(0)
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")  # flips the state while the writer is mid-stream
    await asyncio.gather(*tasks)
    await shop.drain()

    places = [(op, res) for op, res in committed if isinstance(op, PlaceOrder)]
    accepted = [op.member_id for op, res in places if res.status == "ok" and res.filled == 1]
    refused = [op.member_id for op, res in places if res.status == "closed"]
    assert len(accepted) + len(refused) == 300  # nothing half-done, nothing lost
    assert accepted and refused
    stored = shop.sell.store.orders("t1")
    assert sorted(o.member_id for o in stored) == sorted(accepted)
    assert shop.stock() == 1000 - len(accepted)
    closing = next(m.text for m in shop.transport.sent if m.kind == "close")
    assert int(re.search(r"共 (\d+) 件", closing).group(1)) == len(accepted)  # type: ignore[union-attr]
    told = {
        member
        for m in shop.transport.sent
        if m.kind == "notice" and "已结团" in m.text
        for member in m.mentions
    }
    assert set(refused) <= told
