"""The running bot freezes its start-up heap, so a full GC pass (which holds the GIL for as long as
it walks: 140-280 ms over a 1,000-group start-up heap, docs/performance.md) walks only what came
after; stopping unfreezes it, so a process that builds many apps can still collect them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
from pathlib import Path

from bot.app import App
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


async def test_survivors_of_a_slow_full_pass_are_frozen_and_a_quick_one_changes_nothing() -> None:
    from bot.gc_policy import SurvivorFreezer

    gc.unfreeze()
    gc.disable()  # no real collection may interleave with the passes this test plays
    freezer = SurvivorFreezer(slow=0.005)
    task = asyncio.create_task(freezer.run())
    try:
        await asyncio.sleep(0)
        assert freezer._on_gc in gc.callbacks
        freezer._on_gc("start", {"generation": 2})
        freezer._on_gc("stop", {"generation": 2})  # a quick full pass
        freezer._on_gc("start", {"generation": 1})
        await asyncio.sleep(0.01)
        freezer._on_gc("stop", {"generation": 1})  # a slow young pass: not the long walk
        await asyncio.sleep(1.1)
        assert freezer.freezes == 0 and gc.get_freeze_count() == 0
        freezer._on_gc("start", {"generation": 2})
        await asyncio.sleep(0.01)
        freezer._on_gc("stop", {"generation": 2})  # a slow full pass
        await asyncio.sleep(1.1)
        assert freezer.freezes == 1 and gc.get_freeze_count() > 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.unfreeze()
        gc.enable()
    assert freezer._on_gc not in gc.callbacks


async def test_a_freeze_does_not_count_the_frozen_heap(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Counting walks the whole frozen list: ~10 ms on the loop at a million objects, for a log line."""
    from bot import gc_policy

    counted: list[int] = []
    real = gc.get_freeze_count
    monkeypatch.setattr(gc_policy.gc, "get_freeze_count", lambda: counted.append(1) or real())
    freezer = gc_policy.SurvivorFreezer(slow=0.0)
    task = asyncio.create_task(freezer.run())
    try:
        await asyncio.sleep(0)
        freezer._on_gc("start", {"generation": 2})
        freezer._on_gc("stop", {"generation": 2})
        await asyncio.sleep(1.1)
        assert freezer.freezes == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.unfreeze()
    assert counted == []
