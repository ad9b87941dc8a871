"""The fan-out lane (bot/campaign/fanout_lane.py): a timeline burst must not stall chat (issue 14).

A node run's chunk transactions go one at a time through the lane, each stops claiming groups
once its time budget is spent (the rest follow in later transactions, still exactly once), and a
chunk that finds SQLite's write lock taken yields to the event loop and asks again instead of
waiting in the busy handler on the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.campaign.fanout_lane import FanoutLane
from bot.storage.timeline_store import TimelineStore
from tests.commerce.selling_kit import G1, G2, OPENS, Shop, build_shop
from tests.conftest import make_config
from tests.fakes import FakeClock


def ledger(shop: Shop, node_id: str) -> dict[str, str]:
    return {e.group_id: e.status for e in shop.registry.store.ledger("t1") if e.node_id == node_id}


async def test_a_chunk_over_its_budget_commits_what_it_claimed_and_the_rest_follow(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    lane = shop.registry.fanout_lane
    lane.budget_seconds, lane.min_groups = 0.0, 1  # every transaction stops after its first group
    clock.set(OPENS)
    outcome = await shop.registry.run_node("t1", "open")
    await shop.drain()
    assert outcome is not None and outcome.posted == 2
    assert lane.chunks == 2  # one group per transaction, both groups in one node run
    assert ledger(shop, "open") == {G1: "posted", G2: "posted"}
    assert [t for t in shop.texts(G1) if "开团" in t] and [t for t in shop.texts(G2) if "开团" in t]
    again = await shop.registry.run_node("t1", "open")
    assert again is not None and (again.posted, again.duplicate) == (0, 2)


async def test_node_runs_due_together_take_turns_chunk_by_chunk(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = build_shop(tmp_path, clock)
    shop.registry.fanout_lane.budget_seconds, shop.registry.fanout_lane.min_groups = 0.0, 1
    claims: list[tuple[str, str]] = []
    original = TimelineStore.claim

    def claim(conn: Any, **row: Any) -> bool:
        claims.append((row["node_id"], row["group_id"]))
        return original(conn, **row)

    monkeypatch.setattr(TimelineStore, "claim", staticmethod(claim))
    clock.set(OPENS - timedelta(minutes=5))
    await asyncio.gather(
        shop.registry.run_node("t1", "countdown-T-10m"), shop.registry.run_node("t1", "countdown-T-5m")
    )
    assert claims == [
        ("countdown-T-10m", G1),
        ("countdown-T-5m", G1),
        ("countdown-T-10m", G2),
        ("countdown-T-5m", G2),
    ]


async def test_a_chunk_finding_the_write_lock_taken_yields_to_the_loop_instead_of_waiting(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Another connection writes (as the bot's writer threads do): the chunk does not sit in the
    busy handler (5 s here) with the loop blocked; it lets other tasks run and asks again, and
    posts once the lock is free, with no retry backoff on the bot's clock."""
    config = make_config(
        tmp_path, database={"url": f"sqlite:///{tmp_path / 'tuanbot.db'}", "busy_timeout_ms": 5000}
    )
    shop = build_shop(tmp_path, clock, config=config)
    lane = shop.registry.fanout_lane
    lane.poll_seconds = 0.0
    clock.set(OPENS - timedelta(minutes=10))
    started = clock.now()
    writer = sqlite3.connect(tmp_path / "tuanbot.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    task = asyncio.create_task(shop.registry.run_node("t1", "countdown-T-10m"))
    while lane.lock_polls < 3:  # this loop turns only if the chunk yields while the lock is taken
        await asyncio.sleep(0)
    assert not task.done()
    writer.execute("ROLLBACK")
    writer.close()
    outcome = await task
    assert clock.now() == started  # no "database is locked" retry waited on the bot's clock
    assert outcome is not None and outcome.posted == 2
    assert ledger(shop, "countdown-T-10m") == {G1: "posted", G2: "posted"}


async def test_the_lane_runs_at_most_one_chunk_per_event_loop_turn() -> None:
    """Twenty node runs due together must not each run a chunk in the same loop turn (that turn
    would stall chat for all twenty): a ticker that counts loop turns sees one chunk per tick."""
    lane = FanoutLane()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    seen: list[int] = []

    def chunk() -> dict[str, None]:
        seen.append(ticks)
        return {}

    async def node_run() -> None:
        for _ in range(3):
            await lane.run(chunk, lock_wait_seconds=1.0)

    task = asyncio.create_task(ticker())
    await asyncio.gather(*(node_run() for _ in range(5)))
    task.cancel()
    assert len(seen) == lane.chunks == 15
    assert len(set(seen)) == 15, seen
