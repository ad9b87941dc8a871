"""Keep the garbage collector's full passes short while the bot runs (issue 14, docs/performance.md).

A full (oldest-generation) pass walks every object the collector tracks and holds the GIL
throughout, so it stalls the event loop whichever thread sets it off: 140–280 ms over the
start-up heap, which `App.run` therefore freezes once start-up is done. Long-lived objects made
afterwards (caches filling to their bounds, a timeline burst's queued posts) grow the walked heap
again, until passes are slow once more. So when a full pass takes longer than `slow`, what
survived it is frozen too (on the loop's next turn, not inside the collector's callback): the
next pass walks only what came after.

The price: an object frozen here that later becomes unreachable only through a reference cycle
is never collected (plain reference counting still frees everything else). Freezing follows
slow passes only, a few times as caches fill, not as a steady drip.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from loguru import logger

SLOW_FULL_PASS = 0.005  # seconds: longer than this and the survivors are frozen
# How soon after a slow pass they are: at 10,000 messages/s a second's survivors (tasks of
# messages waiting for a thread, rows queued for the writers) made the next pass 25-48 ms.
FREEZE_WITHIN = 0.1


class SurvivorFreezer:
    """Watches full GC passes through `gc.callbacks`; freezes after a slow one."""

    def __init__(self, slow: float = SLOW_FULL_PASS) -> None:
        self.slow = slow
        self.freezes = 0
        self._started = 0.0
        self._due = False  # set in whichever thread collected; read by the loop task

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif time.perf_counter() - self._started > self.slow:
            self._due = True

    async def run(self) -> None:
        """Freeze after each slow full pass, until cancelled."""
        gc.callbacks.append(self._on_gc)
        try:
            while True:
                await asyncio.sleep(FREEZE_WITHIN)
                if self._due:
                    self._due = False
                    gc.freeze()
                    self.freezes += 1
                    # Not gc.get_freeze_count(): it walks the whole frozen list, ~10 ms at a million objects.
                    logger.debug("gc: a slow full pass; its survivors frozen (freeze {})", self.freezes)
        finally:
            gc.callbacks.remove(self._on_gc)
