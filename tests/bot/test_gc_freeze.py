"""The running bot freezes its start-up heap, so a full GC pass (which holds the GIL for as long as
it walks: 140-280 ms over a 1,000-group start-up heap, docs/performance.md) walks only what came
after; stopping unfreezes it, so a process that builds many apps can still collect them."""

from __future__ import annotations

import asyncio
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
