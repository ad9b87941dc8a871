"""The lane every timeline fan-out transaction goes through, so a burst of nodes cannot stall chat.

A chunk's transaction (claims, hooks, rendering, posts) runs on the event loop: its hooks and
runners touch this process's memory, and its after-commit work must follow its commit. Three
things used to make the loop stall for seconds when many nodes fell due together (issue 14,
the timeline burst): every node run started its first chunk in the same loop turn, so twenty
openings did twenty chunks before a chat message was read; a chunk of 50 groups took tens of
milliseconds; and each chunk waited for SQLite's write lock inside the busy handler while a
writer thread held it. So the lane:

* runs one chunk at a time, in arrival order, and gives the loop a turn after each one;
* bounds a chunk by time (`budget_seconds`): past its first `min_groups` groups, the chunk stops
  claiming groups once it has spent that long, commits what it claimed, and the rest come in
  the next chunk;
* takes the write lock without waiting (`bot.storage.write_lock.begin_write_nowait`), and while
  another connection holds it, yields to the loop for `poll_seconds` and asks again, up to the
  busy timeout; then it fails as a locked write would, and the node run's retry takes over.

Exactly-once is untouched: a group is claimed, with its posts, in a committed transaction, or
not at all and tried in a later chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from bot.storage.write_lock import locked_error

T = TypeVar("T")

CHUNK_BUDGET_SECONDS = 0.015
# Groups a chunk runs before it looks at its budget: a few groups cost a few milliseconds, and a
# small fan-out (the usual handful of groups) stays one transaction however busy the machine is.
MIN_GROUPS_PER_CHUNK = 8
LOCK_POLL_SECONDS = 0.002


class FanoutLane:
    """One timeline chunk transaction at a time, each short, never waiting for the lock on the loop."""

    def __init__(
        self,
        budget_seconds: float = CHUNK_BUDGET_SECONDS,
        min_groups: int = MIN_GROUPS_PER_CHUNK,
        poll_seconds: float = LOCK_POLL_SECONDS,
    ) -> None:
        self.budget_seconds = budget_seconds
        self.min_groups = min_groups
        self.poll_seconds = poll_seconds
        self.chunks = 0  # chunk transactions run through the lane (tests and benches read these)
        self.lock_polls = 0  # times a chunk found the write lock taken and yielded
        self._lock = asyncio.Lock()

    async def run(self, attempt: Callable[[], T | None], *, lock_wait_seconds: float) -> T:
        """Run `attempt` in the lane; it returns None, having done nothing, when the lock was taken.

        Raises the "database is locked" error once the lock stayed taken for `lock_wait_seconds`.
        """
        loop = asyncio.get_running_loop()
        async with self._lock:
            # A loop turn (chat, timers) before every chunk, taken while holding the lane so that
            # the other node runs queue behind it: the lock alone would let every ready node run
            # take it in turn within one loop turn, since a chunk itself never awaits.
            await asyncio.sleep(0)
            give_up_at = loop.time() + lock_wait_seconds
            while True:
                result = attempt()
                if result is not None:
                    break
                if loop.time() >= give_up_at:
                    raise locked_error()
                self.lock_polls += 1
                await asyncio.sleep(self.poll_seconds)
            self.chunks += 1
        return result
