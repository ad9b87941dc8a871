"""The lane every timeline fan-out transaction goes through, so a burst of nodes cannot stall chat.

A chunk's transaction (claims, hooks, rendering, posts) runs on the event loop: its hooks and
runners touch this process's memory, and its after-commit work must follow its commit. Three
things used to make the loop stall for seconds when many nodes fell due together (issue 14,
the timeline burst): every node run started its first chunk in the same loop turn, so twenty
openings did twenty chunks before a chat message was read; a chunk of 50 groups took tens of
milliseconds; and each chunk waited for SQLite's write lock inside the busy handler while a
writer thread held it. So the lane:

* runs one chunk at a time, in arrival order, and rests after each one (`_rest`): first a timed
  pause (`turn_seconds`), not `sleep(0)`: `sleep(0)` puts the lane's task at the end of the ready
  queue, but the timers and the network reads that fell due during the chunk are queued behind
  it, so they waited through two chunks; behind a timer they run first. Then, while other tasks
  are still waiting to run (a `sleep(0)` that does not come back at once), it keeps pausing, up
  to `rest_ratio` times the chunk's own time: with chat arriving faster than one message per
  chunk, a lane that took the loop back at once let a backlog grow for the whole burst, and with
  chat quiet the fan-out goes on at full speed;
* bounds a chunk by time (`budget_seconds`): past its first `min_groups` groups, the chunk stops
  claiming groups once what it has spent, plus what its claimed groups will cost after the
  claiming (the insert, the commit, the outbox admission, the hooks' after-commit work, as the
  lane measured it per group in the node's earlier chunks: `tail_per_group`), reaches that
  long; it commits what it claimed, and the rest come in the next chunk;
* runs a node run's set-up reads (`setup`) in the lane's turn too, so that twenty node runs
  falling due together do not do twenty set-ups in one loop turn;
* takes the write lock without waiting (`bot.storage.write_lock.begin_write_nowait`), and while
  another connection holds it, yields to the loop for `poll_seconds` and asks again, up to the
  busy timeout; then it fails as a locked write would, and the node run's retry takes over.

Exactly-once is untouched: a group is claimed, with its posts, in a committed transaction, or
not at all and tried in a later chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from time import perf_counter
from typing import TypeVar

from bot.storage.write_lock import locked_error

T = TypeVar("T")

CHUNK_BUDGET_SECONDS = 0.015
# Groups a chunk runs before it looks at its budget: a few groups cost a few milliseconds, and a
# small fan-out (the usual handful of groups) stays one transaction however busy the machine is.
MIN_GROUPS_PER_CHUNK = 8
LOCK_POLL_SECONDS = 0.002
# The pause before each chunk: long enough for what fell due during the last one to run first.
TURN_SECONDS = 0.001
# While other tasks wait to run, the lane rests up to this many times its last chunk's time: it
# takes at most 1 / (1 + REST_RATIO) of a busy loop (a chunk is one loop step), chat the rest.
REST_RATIO = 1.0
# A `sleep(0)` that takes longer than this came back after other callbacks: the loop is busy.
BUSY_SECONDS = 0.0002
# Weight of the newest chunk in the running estimate of the work after the claiming, per group.
TAIL_WEIGHT = 0.5


class FanoutLane:
    """One timeline chunk transaction at a time, each short, never waiting for the lock on the loop."""

    def __init__(
        self,
        budget_seconds: float = CHUNK_BUDGET_SECONDS,
        min_groups: int = MIN_GROUPS_PER_CHUNK,
        poll_seconds: float = LOCK_POLL_SECONDS,
        turn_seconds: float = TURN_SECONDS,
        rest_ratio: float = REST_RATIO,
    ) -> None:
        self.budget_seconds = budget_seconds
        self.min_groups = min_groups
        self.poll_seconds = poll_seconds
        self.turn_seconds = turn_seconds
        self.chunks = 0  # chunk transactions run through the lane (tests and benches read these)
        self.lock_polls = 0  # times a chunk found the write lock taken and yielded
        self.rest_ratio = rest_ratio
        self._last_chunk = 0.0
        self._tails: dict[Hashable, float] = {}
        self._lock = asyncio.Lock()

    def tail_per_group(self, key: Hashable) -> float:
        """Seconds a claimed group has cost after the claiming, in `key`'s chunks so far (0: none yet)."""
        return self._tails.get(key, 0.0)

    def record_tail(self, key: Hashable, seconds: float, groups: int) -> None:
        """A chunk of `key` spent `seconds` after claiming `groups` groups (commit and after-commit)."""
        if groups <= 0:
            return
        per_group = seconds / groups
        known = self._tails.get(key)
        self._tails[key] = per_group if known is None else known + TAIL_WEIGHT * (per_group - known)

    async def setup(self, call: Callable[[], T]) -> T:
        """Run a node run's short set-up (reads on the loop) in the lane's turn, after a loop turn."""
        async with self._lock:
            await asyncio.sleep(self.turn_seconds)
            return call()

    async def _rest(self) -> None:
        """Pause `turn_seconds`, then go on pausing while other tasks wait to run, up to the cap.

        Timed with `perf_counter`, not the loop's clock: uvloop's counts whole milliseconds, and
        a busy `sleep(0)` (BUSY_SECONDS) is a fraction of one."""
        until = perf_counter() + max(self.turn_seconds, self._last_chunk * self.rest_ratio)
        await asyncio.sleep(self.turn_seconds)
        while perf_counter() < until:
            asked = perf_counter()
            await asyncio.sleep(0)  # back at once unless callbacks were queued ahead of it
            if perf_counter() - asked < BUSY_SECONDS:
                return
            await asyncio.sleep(min(self.turn_seconds, max(0.0, until - perf_counter())))

    async def run(self, attempt: Callable[[], T | None], *, lock_wait_seconds: float) -> T:
        """Run `attempt` in the lane; it returns None, having done nothing, when the lock was taken.

        Raises the "database is locked" error once the lock stayed taken for `lock_wait_seconds`.
        """
        async with self._lock:
            # A loop turn (chat, timers) before every chunk, taken while holding the lane so that
            # the other node runs queue behind it: the lock alone would let every ready node run
            # take it in turn within one loop turn, since a chunk itself never awaits. Timed, and
            # longer while chat is busy (module docstring).
            await self._rest()
            give_up_at = perf_counter() + lock_wait_seconds
            while True:
                started = perf_counter()
                result = attempt()
                self._last_chunk = perf_counter() - started
                if result is not None:
                    break
                if perf_counter() >= give_up_at:
                    raise locked_error()
                self.lock_polls += 1
                await asyncio.sleep(self.poll_seconds)
            self.chunks += 1
        return result
