"""Keep the garbage collector's full passes off the event loop's busy moments (issue 14, docs/performance.md).

A full (oldest-generation) pass walks every object the collector tracks and holds the GIL
throughout, so it stalls the event loop whichever thread sets it off: 140–280 ms over the
start-up heap, which `App.run` therefore freezes once start-up is done, and 10–66 ms a pass in a
flood of chatter afterwards (the writers' queued rows, caches filling), one every 3–4 seconds.
Those passes found no garbage (0 objects collected in the routing benchmark's flood): reference
counting frees it all. So while the bot runs, CPython's own trigger for full passes is off, and
`QuietFullPasses` decides, each time one is owed (as many young passes since the last full one
or freeze as CPython would have waited for):

* when the chat has been quiet for `quiet` seconds (no inbound row queued), it runs the full
  pass, where a pause stalls nobody's answer; if that pass was slow, its survivors are frozen;
* while the chat is busy, it freezes what the pass would have walked instead (`gc.freeze()`
  moves lists, it walks nothing), so the next pass, busy or quiet, walks only what came after.

The young generations are still collected as usual, so short-lived cycles are collected as
before. The price: an object frozen here that is, or later becomes, unreachable only through a
reference cycle is never collected (reference counting still frees everything else).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

from loguru import logger

SLOW_FULL_PASS = 0.005  # seconds: longer than this and the survivors are frozen
QUIET_SECONDS = 1.0  # no inbound event for this long: a full pass stalls no one
TICK_SECONDS = 0.25  # how often the policy looks
_NEVER = 2**30  # the oldest generation's threshold while the policy runs: CPython never triggers it

_holders = 0  # policies running in this process (a test process runs several apps)
_saved_threshold: tuple[int, int, int] = gc.get_threshold()


def _hold() -> int:
    """Turn CPython's full-pass trigger off; the young passes it would wait for before one."""
    global _holders, _saved_threshold
    if _holders == 0:
        _saved_threshold = gc.get_threshold()
        young, middle, _ = _saved_threshold
        gc.set_threshold(young, middle, _NEVER)
    _holders += 1
    return max(_saved_threshold[2], 1)


def _release() -> None:
    """The last policy to stop gives CPython its trigger back."""
    global _holders
    _holders -= 1
    if _holders == 0:
        gc.set_threshold(*_saved_threshold)


class QuietFullPasses:
    """Runs an owed full GC pass when the chat is quiet, freezes instead while it is busy.

    `activity`: a count that grows with every inbound event (the inbound writer's ops put), read
    each tick; it costs the event loop nothing per message.
    """

    def __init__(
        self,
        activity: Callable[[], int],
        *,
        quiet: float = QUIET_SECONDS,
        slow: float = SLOW_FULL_PASS,
        tick: float = TICK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.activity = activity
        self.quiet = quiet
        self.slow = slow
        self.tick = tick
        self.clock = clock
        self.passes = 0
        self.freezes = 0

    async def run(self) -> None:
        """Until cancelled; CPython's own trigger is back once every policy has stopped."""
        owed_after = _hold()
        try:
            quiet_since = self.clock()
            seen = self.activity()
            while True:
                await asyncio.sleep(self.tick)
                now, count = self.clock(), self.activity()
                if count != seen:
                    seen, quiet_since = count, now
                if gc.get_count()[2] < owed_after:  # young passes since the last full pass or freeze
                    continue
                if now - quiet_since >= self.quiet:
                    self._full_pass()
                else:
                    gc.freeze()  # busy: set aside what the pass would walk, walking nothing
                    self.freezes += 1
        finally:
            _release()

    def _full_pass(self) -> None:
        started = time.perf_counter()
        found = gc.collect()
        took = time.perf_counter() - started
        self.passes += 1
        if took > self.slow:
            gc.freeze()
            self.freezes += 1
        # Not gc.get_freeze_count(): it walks the whole frozen list, ~10 ms at a million objects.
        logger.debug(
            "gc: full pass {} took {:.1f} ms, {} unreachable{}",
            self.passes,
            took * 1000,
            found,
            "; survivors frozen" if took > self.slow else "",
        )
