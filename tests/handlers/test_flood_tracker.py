"""Moderation's flood window keeps plain tuples (handlers/moderation/trackers.py): the garbage
collector stops tracking them, so its full passes do not walk one object per chatty member. It
must judge exactly as the deque it replaced."""

from __future__ import annotations

import gc
import random
from collections import deque
from datetime import UTC, datetime, timedelta

from handlers.moderation.trackers import FloodTracker

T0 = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


class _DequeFlood:
    """The tracker as it was: a deque of the last limit + 1 post times per member."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, str], deque[datetime]] = {}

    def add(self, key: tuple[str, str], now: datetime, limit: int, seconds: float) -> bool:
        times = self.times.get(key)
        if times is None or times.maxlen != limit + 1:
            times = self.times[key] = deque(maxlen=limit + 1)
        times.append(now)
        if len(times) > limit and (now - times[0]).total_seconds() <= seconds:
            times.clear()
            return True
        return False


def test_floods_are_judged_as_the_deque_judged_them() -> None:
    rng = random.Random(3)
    tracker, reference = FloodTracker(), _DequeFlood()
    now = T0
    for _ in range(20_000):
        now += timedelta(seconds=rng.choice([0.1, 0.5, 1, 3, 20]))
        key = ("g1", f"m{rng.randrange(6)}")
        limit = rng.choice([5, 5, 5, 3])  # a group's rules edited now and then
        assert tracker.add(key, now, limit, 10) == reference.add(key, now, limit, 10)


def test_the_windows_are_not_tracked_by_the_collector() -> None:
    tracker = FloodTracker()
    for n in range(5_000):
        tracker.add(("g1", f"m{n}"), T0 + timedelta(seconds=n), 5, 10)
    gc.collect()
    gc.collect()  # a tuple is let go once what it holds is: the inner one first, then the outer
    assert not any(gc.is_tracked(window) for window in tracker._times.values())
