"""Which queued message leaves next: the outbox's hot path, without a pass over the queue.

Per target (a group or a member), the best message that is due: lowest priority
number, then oldest. A post delayed until later (`not_before`) never holds back a
due one queued behind it; it only sets the time to look again. Private messages
yield to a sendable group post once they have had their turn, so a flood of
alerts cannot starve the groups.

How, cheaply: the send loop wakes on every enqueue, and the queue may hold tens of
thousands of replies waiting behind the limits, so a pass must not look at them
all. A target's pacing and its first due item give it one key, the moment it could
send next if the account and the switch pause allowed: max(last send to it + the
group interval, its earliest `not_before`, or -inf if one is due). Targets wait in
a heap by that key (`Chooser`) and move to a ready set once it has passed; a pass
looks at the ready ones only (only at the last target while the switch pause
runs), each through its per-target heap in `OutboxQueue.head`. The key changes
only when the target's items or its last send change (both report here) or the
interval does (slow mode: the heap is rebuilt), never merely as time passes.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.outbox_pacing import Pacing
    from bot.outbox_queue import OutboxQueue

# A target's key: (0, None) is "ready whatever the time"; (1, when) is "not before `when`".
Key = tuple[int, datetime | None]


@dataclass(order=True)
class Queued:
    """A message waiting in the outbox (ordered by priority, then id)."""

    priority: int
    id: int
    target: str = field(compare=False)
    group_id: str = field(compare=False)
    member_id: str = field(compare=False)
    text: str = field(compare=False)
    mentions: tuple[str, ...] = field(compare=False)
    kind: str = field(compare=False)
    replace_key: str = field(compare=False)
    attempts: int = field(default=0, compare=False)
    not_before: datetime | None = field(default=None, compare=False)
    sending: bool = field(default=False, compare=False)  # being handed to the network: no longer replaceable
    stale: bool = field(default=False, compare=False)  # `text` is sendable but older: render again at send


class Chooser:
    """The best message sendable now, found through the targets that can send, not the items.

    `examined` counts the heap entries and target heads one pass looked at (tests pin
    that it does not grow with the queue).
    """

    def __init__(self, queue: OutboxQueue, pacing: Pacing) -> None:
        self.queue = queue
        self.pacing = pacing
        queue.on_change = self.touched
        pacing.on_target_sent = self.touched
        self.examined = 0
        self._waiting: list[tuple[int, datetime | None, int, str]] = []  # (*key, seq, target)
        self._seq: dict[str, int] = {}  # target -> the seq of its live entry in `_waiting`
        self._key: dict[str, Key] = {}
        self._ready: dict[str, None] = {}  # targets whose key has passed (ordered: deterministic)
        self._seqs = itertools.count()
        self._interval: float | None = None  # the group interval the keys were made with; None: not built
        self._last_now: datetime | None = None

    # -- keeping the keys ----------------------------------------------------------------------
    def touched(self, target: str) -> None:
        """`target`'s items or its last send changed: file it under its new key."""
        if self._interval is None:
            return  # built on the first pass
        if target not in self.queue.by_target:
            self._ready.pop(target, None)
            self._seq.pop(target, None)
            self._key.pop(target, None)
            return
        key = self._key_of(target, self._interval)
        if self._key.get(target) == key:
            return  # still filed right (ready, or waiting under this key)
        self._ready.pop(target, None)
        self._key[target] = key
        self._push(target, key)

    def _push(self, target: str, key: Key) -> None:
        seq = next(self._seqs)
        self._seq[target] = seq
        heapq.heappush(self._waiting, (key[0], key[1], seq, target))
        if len(self._waiting) > 2 * len(self._seq) + 64:  # mostly dead entries: start afresh
            self._waiting = [
                (key[0], key[1], self._seq[t], t) for t, key in self._key.items() if t not in self._ready
            ]
            heapq.heapify(self._waiting)

    def _key_of(self, target: str, interval: float) -> Key:
        first = self.queue.first_due(target)
        last = self.pacing.last_to.get(target)
        own = None if last is None else last + timedelta(seconds=interval)
        if own is None:
            return (0, None) if first is None else (1, first)
        return (1, own if first is None or first < own else first)

    def reset(self) -> None:
        """Forget the index; the next pass re-files every item and target from scratch."""
        self._interval = None
        self._last_now = None
        self.queue.reindex()

    def _rebuild(self, interval: float) -> None:
        self._interval = interval
        self._waiting = []
        self._seq.clear()
        self._key.clear()
        self._ready.clear()
        for target in self.queue.by_target:
            key = self._key_of(target, interval)
            self._key[target] = key
            self._seq[target] = seq = next(self._seqs)
            self._waiting.append((key[0], key[1], seq, target))
        heapq.heapify(self._waiting)

    # -- choosing -------------------------------------------------------------------------------
    def choose(self, now: datetime, *, private_turn_over: bool) -> tuple[Queued | None, datetime | None]:
        """The best message sendable now; else None and the earliest time one may be.

        The time is given only when no message is (the send loop sleeps until then).
        With `private_turn_over`, a sendable group post goes before any private message.
        """
        pacing = self.pacing
        interval = pacing.settings.group_interval_seconds * pacing.slow_factor(now)
        went_back = self._last_now is not None and now < self._last_now
        if went_back:
            self.queue.reindex()
        if went_back or interval != self._interval:
            self._rebuild(interval)
        self._last_now = now
        self._collect_ready(now)
        last_sent = pacing.last_sent_at
        switch_at = None if last_sent is None else last_sent + timedelta(seconds=pacing.switch_pause)
        pausing = switch_at is not None and switch_at > now
        last_target = pacing.last_target
        candidates = ((last_target,) if last_target in self._ready else ()) if pausing else tuple(self._ready)
        best: Queued | None = None
        best_group: Queued | None = None
        for target in candidates:
            self.examined += 1
            item = self.queue.head(target, now)
            if item is None:  # cannot happen while the key is right; re-file it rather than trust it
                self._key.pop(target, None)
                self.touched(target)
                continue
            if (
                best is None
                or item.priority < best.priority
                or (item.priority == best.priority and item.id < best.id)
            ):
                best = item
            if item.group_id and (
                best_group is None
                or item.priority < best_group.priority
                or (item.priority == best_group.priority and item.id < best_group.id)
            ):
                best_group = item
        if best is not None:
            if not best.group_id and best_group is not None and private_turn_over:
                best = best_group
            return best, None
        if not pausing:
            waiting = self._first_waiting()
            return None, None if waiting is None else max(now, waiting)
        assert switch_at is not None
        return None, self._earliest_while_pausing(now, switch_at, last_target)

    def _collect_ready(self, now: datetime) -> None:
        waiting = self._waiting
        while waiting:
            self.examined += 1
            flag, when, seq, target = waiting[0]
            if self._seq.get(target) != seq:
                heapq.heappop(waiting)
                continue
            if flag and when is not None and when > now:
                return
            heapq.heappop(waiting)
            self._ready[target] = None

    def _first_waiting(self) -> datetime | None:
        """The smallest key still waiting (all of them are in the future), dropping dead entries."""
        waiting = self._waiting
        while waiting:
            self.examined += 1
            _, when, seq, target = waiting[0]
            if self._seq.get(target) == seq:
                return when
            heapq.heappop(waiting)
        return None

    def _earliest_while_pausing(
        self, now: datetime, switch_at: datetime, last_target: str
    ) -> datetime | None:
        """Only `last_target` is exempt from the switch pause; every other target waits for it too."""
        earliest: datetime | None = None
        own = self._key.get(last_target)
        if own is not None and last_target not in self._ready:
            assert own[1] is not None
            earliest = max(now, own[1])
        # The last target's own key may be the smallest waiting one: then it is the answer anyway.
        others = switch_at if self._ready else self._first_waiting()
        if others is not None:
            others = max(others, switch_at)
            earliest = others if earliest is None else min(earliest, others)
        return earliest
