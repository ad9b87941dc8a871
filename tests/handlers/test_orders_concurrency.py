"""Acceptance 1: 2,000 concurrent order attempts never oversell, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from handlers.selling.store import ORDERS, Operation, OpResult, PlaceOrder
from tests.commerce.selling_kit import build_shop, campaign_text
from tests.fakes import FakeClock

GROUPS = tuple(f"团购{i}群" for i in range(1, 6))
MEMBERS = 500
ATTEMPTS = 2000
UNITS = 300
LIMIT = 2


async def test_two_thousand_concurrent_orders_never_oversell(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = build_shop(
        tmp_path, clock, db_url=db_url, text=campaign_text(groups=GROUPS, a1=UNITS, limit=LIMIT)
    )
    await shop.open()
    shop.transport.clear()
    committed: list[tuple[Operation, OpResult]] = []
    writer = shop.sell.writer
    original = writer.on_commit
    assert original is not None

    def record(ops: list[Operation], results: list[OpResult]) -> None:
        committed.extend(zip(ops, results))
        original(ops, results)

    writer.on_commit = record
    rng = random.Random(4)
    forms = ["A1 1", "接龙 A1 2", "A1+1", "草莓 2", "A1×1", "Ａ１＋２", "+1"]
    events = []
    for attempt in range(ATTEMPTS):
        member = attempt % MEMBERS
        group = GROUPS[member % len(GROUPS)]
        events.append(shop.message(rng.choice(forms), f"m{member}", group, name=f"团员{member}"))

    started = time.perf_counter()
    await asyncio.gather(*(shop.transport.inject(e, drain=False) for e in events))
    elapsed = time.perf_counter() - started
    await shop.drain()
    print(
        f"\n{db_url.split(':')[0]}: {ATTEMPTS} attempts in {elapsed:.2f}s "
        f"({writer.stats.batches} batches, largest {writer.stats.largest_batch})"
    )

    places = [(op, res) for op, res in committed if isinstance(op, PlaceOrder)]
    assert len(places) == ATTEMPTS  # every attempt reached the writer and got an answer
    filled = sum(res.filled for _, res in places)
    assert filled == UNITS
    assert shop.stock("A1") == 0

    with shop.app.services.repo.engine.connect() as conn:
        rows = conn.execute(
            select(ORDERS.c.member_id, func.sum(ORDERS.c.quantity), func.count()).group_by(ORDERS.c.member_id)
        ).all()
    in_db = {member: int(qty) for member, qty, _ in rows}
    assert sum(in_db.values()) == UNITS
    assert max(in_db.values()) <= LIMIT
    accepted: Counter[str] = Counter()
    for op, res in places:
        accepted[op.member_id] += res.filled
    assert {
        m: q for m, q in accepted.items() if q
    } == in_db  # every acknowledged unit is stored, nothing more
    assert sum(int(n) for _, _, n in rows) == sum(1 for _, res in places for line in res.lines if line.filled)

    refused = {(op.group_id, op.member_id) for op, res in places if res.filled < sum(q for _, q in op.lines)}
    assert len(refused) > 100
    told = {(m.group_id, member) for m in shop.transport.sent if m.kind == "notice" for member in m.mentions}
    assert refused <= told  # every refused (or partly filled) attempt got a reply
    notices = [m for m in shop.transport.sent if m.kind == "notice"]
    chains = [m for m in shop.transport.sent if m.kind == "chain"]
    assert len(notices) <= 5 * len(GROUPS) and len(chains) <= 5 * len(GROUPS)  # coalesced, not one per order
