"""The running bot freezes its start-up heap, so a full GC pass (which holds the GIL for as long as
it walks: 140-280 ms over a 1,000-group start-up heap, docs/performance.md) walks only what came
after; stopping unfreezes it, so a process that builds many apps can still collect them. While it
runs, full passes wait for a quiet moment (`bot.gc_policy`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import weakref
from pathlib import Path

from bot.app import App
from bot.gc_policy import QuietFullPasses
from tests.conftest import make_config
from tests.fakes import FakeClock


class Watching:
    """A transport that reports how many objects are frozen while the app is running."""

    name = "watching"

    def __init__(self) -> None:
        self.frozen_while_running = -1

    async def start(self, sink: object) -> None:
        self.frozen_while_running = gc.get_freeze_count()

    async def send(self, message: object) -> None:
        return None

    async def stop(self) -> None:
        return None


async def test_the_start_up_heap_is_frozen_while_running_and_released_after(tmp_path: Path) -> None:
    gc.unfreeze()
    app = App.build(make_config(tmp_path), clock=FakeClock(), rng=random.Random(1))
    transport = Watching()
    await asyncio.wait_for(app.run(transport, drain_seconds=0), timeout=30)  # type: ignore[arg-type]
    assert transport.frozen_while_running > 10_000  # the app's templates, routes, config, modules...
    assert gc.get_freeze_count() == 0


class Node:
    """A weakly referable object that can sit in a reference cycle."""

    me: object = None


def _owe_a_full_pass() -> None:
    """Enough young passes for CPython to have wanted a full one (its own threshold: 10)."""
    kept = [[] for _ in range(120_000)]  # alive while made: each allocation counts towards a young pass
    del kept


def _garbage_cycle_in_the_oldest_generation() -> weakref.ReferenceType[Node]:
    node = Node()
    node.me = node
    gc.collect(1)  # survives the young passes: now in the oldest generation
    ref = weakref.ref(node)
    del node
    return ref


async def _run_policy(policy: QuietFullPasses) -> asyncio.Task[None]:
    task = asyncio.create_task(policy.run())
    await asyncio.sleep(0)
    return task


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_no_full_pass_while_the_chat_is_busy_and_one_once_it_is_quiet() -> None:
    """A flood pays for no full pass: what one would walk is frozen instead (no walk). The first
    quiet second runs the pass, which collects the cycles made since."""
    gc.unfreeze()
    gc.collect()
    activity = [0]
    policy = QuietFullPasses(lambda: activity[0], quiet=0.5, slow=10.0, tick=0.01)
    full_before = gc.get_stats()[2]["collections"]
    task = await _run_policy(policy)
    try:
        for _ in range(10):  # busy: an inbound event every tick
            activity[0] += 1
            _owe_a_full_pass()
            await asyncio.sleep(0.02)
        assert gc.get_stats()[2]["collections"] == full_before and policy.passes == 0
        assert policy.freezes >= 1 and gc.get_freeze_count() > 0
        await asyncio.sleep(0.7)  # quiet from here on
        cycle = _garbage_cycle_in_the_oldest_generation()
        assert cycle() is not None
        _owe_a_full_pass()
        await asyncio.sleep(0.2)
        assert policy.passes == 1 and gc.get_stats()[2]["collections"] == full_before + 1
        assert cycle() is None
    finally:
        await _stop(task)
        gc.unfreeze()


async def test_cpython_gets_its_trigger_back_when_the_last_policy_stops() -> None:
    before = gc.get_threshold()
    first = await _run_policy(QuietFullPasses(lambda: 0))
    second = await _run_policy(QuietFullPasses(lambda: 0))
    assert gc.get_threshold()[2] > 1_000_000 and gc.get_threshold()[:2] == before[:2]
    await _stop(first)
    assert gc.get_threshold()[2] > 1_000_000  # the second app still runs
    await _stop(second)
    assert gc.get_threshold() == before


async def test_survivors_of_a_slow_full_pass_are_frozen_and_a_quick_one_changes_nothing() -> None:
    gc.unfreeze()
    quick = QuietFullPasses(lambda: 0, quiet=0, slow=10.0, tick=0.01)
    task = await _run_policy(quick)
    try:
        _owe_a_full_pass()
        await asyncio.sleep(0.2)
        assert quick.passes >= 1 and quick.freezes == 0 and gc.get_freeze_count() == 0
    finally:
        await _stop(task)
    slow = QuietFullPasses(lambda: 0, quiet=0, slow=0.0, tick=0.01)
    task = await _run_policy(slow)
    try:
        _owe_a_full_pass()
        await asyncio.sleep(0.2)
        assert slow.freezes >= 1 and gc.get_freeze_count() > 0
    finally:
        await _stop(task)
        gc.unfreeze()


async def test_a_freeze_does_not_count_the_frozen_heap(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Counting walks the whole frozen list: ~10 ms on the loop at a million objects, for a log line."""
    from bot import gc_policy

    counted: list[int] = []
    real = gc.get_freeze_count
    monkeypatch.setattr(gc_policy.gc, "get_freeze_count", lambda: counted.append(1) or real())
    policy = QuietFullPasses(lambda: 0, quiet=0, slow=0.0, tick=0.01)
    task = await _run_policy(policy)
    try:
        _owe_a_full_pass()
        await asyncio.sleep(0.2)
        assert policy.freezes >= 1
    finally:
        await _stop(task)
        gc.unfreeze()
    assert counted == []
