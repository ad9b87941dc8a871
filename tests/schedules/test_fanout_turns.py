"""The fan-out lane gives chat real turns during a timeline burst (issue 14, the timeline burst).

Three things the bench (`bench/timeline_scale.py`) showed, each checked here by order or count:
a timer that falls due during a chunk (the next chat message, the heartbeat) must run before
the next chunk, not after it; the work a claimed group costs after the claiming (the commit, the
outbox admission, the hooks' after-commit work) counts against the chunk's budget, so an
expensive hook makes chunks smaller instead of longer; and node runs falling due together read
their set-up one at a time, not all in one loop turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Connection

from bot.campaign.fanout_lane import FanoutLane
from bot.campaign.nodes import NodeRun
from bot.storage.timeline_store import TimelineStore
from tests.commerce.selling_kit import OPENS, build_shop, campaign_text
from tests.fakes import FakeClock

GROUPS = tuple(f"团购{n}群" for n in range(1, 13))
CHUNK: Hashable = ("test", "chunk")


async def test_a_timer_due_during_a_chunk_runs_before_the_next_chunk() -> None:
    """`sleep(0)` between chunks queued the next chunk ahead of the timers that fell due during
    the last one, so a chat message waited through two chunks: here it must come between them."""
    loop = asyncio.get_running_loop()
    lane = FanoutLane()
    order: list[str] = []

    def chunk() -> dict[str, None]:
        order.append("chunk")
        if len(order) == 1:
            loop.call_later(0.0005, order.append, "timer")
            time.sleep(0.005)  # the chunk's own work: the timer falls due meanwhile
        return {}

    await lane.run(chunk, lock_wait_seconds=1.0)
    await lane.run(chunk, lock_wait_seconds=1.0)
    assert order == ["chunk", "timer", "chunk"]


async def test_the_work_after_the_claim_counts_against_a_chunks_budget(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A hook whose after-commit work takes 20 ms a group, a 50 ms budget: once the lane has seen
    it, a chunk claims at most three groups (claiming them alone would fit twelve in the budget),
    and every group still gets the node exactly once."""
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=GROUPS))
    lane = shop.registry.fanout_lane
    lane.budget_seconds, lane.min_groups = 0.05, 1
    chunk_sizes: list[int] = []

    def slow_after_commit(run: NodeRun, conn: Connection) -> None:
        tx: dict[Hashable, Any] = run.tx
        if CHUNK not in tx:
            tx[CHUNK] = len(chunk_sizes)
            chunk_sizes.append(0)
        chunk_sizes[tx[CHUNK]] += 1
        run.after_commit(lambda: time.sleep(0.02))

    shop.registry.hooks.setdefault("countdown", []).append(slow_after_commit)
    clock.set(OPENS - timedelta(minutes=10))
    first = await shop.registry.run_node("t1", "countdown-T-10m")  # the lane learns the cost
    assert first is not None and first.posted == len(GROUPS)
    chunk_sizes.clear()
    clock.set(OPENS - timedelta(minutes=5))
    second = await shop.registry.run_node("t1", "countdown-T-5m")
    assert second is not None and second.posted == len(GROUPS)
    assert sum(chunk_sizes) == len(GROUPS)
    assert max(chunk_sizes) <= 3, chunk_sizes
    assert lane.tail_per_group("countdown") >= 0.02
    ledger = [e for e in shop.registry.store.ledger("t1") if e.node_id == "countdown-T-5m"]
    assert sorted(e.group_id for e in ledger) == sorted(GROUPS)
    assert {e.status for e in ledger} == {"posted"}


async def test_node_runs_due_together_read_their_set_up_in_separate_loop_turns(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = build_shop(tmp_path, clock)
    ticks = 0
    read_at: list[int] = []
    original = TimelineStore.group_statuses

    def group_statuses(store: TimelineStore, campaign_id: str) -> dict[str, str]:
        read_at.append(ticks)
        return original(store, campaign_id)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    monkeypatch.setattr(TimelineStore, "group_statuses", group_statuses)
    clock.set(OPENS - timedelta(minutes=5))
    task = asyncio.create_task(ticker())
    runs = await asyncio.gather(
        shop.registry.run_node("t1", "countdown-T-10m"), shop.registry.run_node("t1", "countdown-T-5m")
    )
    task.cancel()
    assert [r.posted for r in runs if r is not None] == [2, 2]
    assert len(read_at) == 2 and read_at[0] != read_at[1], read_at


def timed_chunk(spans: list[tuple[float, float]], seconds: float) -> Callable[[], dict[str, None]]:
    def chunk() -> dict[str, None]:
        started = time.perf_counter()
        time.sleep(seconds)
        spans.append((started, time.perf_counter()))
        return {}

    return chunk


async def test_while_chat_waits_the_lane_rests_as_long_as_its_last_chunk_ran() -> None:
    """Chat arriving faster than one message per chunk (a task that always has 2 ms of work
    ready): the lane takes at most half the loop, so after a 20 ms chunk the next waits ~20 ms
    and the chat task runs meanwhile. The old lane came back after one message."""
    lane = FanoutLane()
    spans: list[tuple[float, float]] = []
    handled = 0

    async def busy_chat() -> None:
        nonlocal handled
        while True:
            time.sleep(0.002)
            handled += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(busy_chat())
    await lane.run(timed_chunk(spans, 0.02), lock_wait_seconds=1.0)
    handled_after_first = handled
    await lane.run(timed_chunk(spans, 0.02), lock_wait_seconds=1.0)
    task.cancel()
    assert spans[1][0] - spans[0][1] >= 0.02 * lane.rest_ratio * 0.9
    assert handled - handled_after_first >= 5


async def test_with_the_loop_idle_the_lane_does_not_rest_past_its_turn() -> None:
    """No chat: the fan-out goes on at full speed, the next chunk after one short turn."""
    lane = FanoutLane()
    spans: list[tuple[float, float]] = []
    await lane.run(timed_chunk(spans, 0.06), lock_wait_seconds=1.0)
    await lane.run(timed_chunk(spans, 0.06), lock_wait_seconds=1.0)
    assert spans[1][0] - spans[0][1] < 0.03  # the cap would be 60 ms
