"""Time as the bot sees it.

Everything that reads the time asks a `Clock`, so tests can use a fake one and a
rehearsal can compress a three-day campaign into a minute. Times are always
timezone-aware UTC datetimes; campaign timezones apply only when rendering.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """The bot's source of time."""

    def now(self) -> datetime:
        """Current time (aware, UTC)."""
        ...

    def to_real(self, when: datetime) -> datetime:
        """The wall-clock instant at which bot time `when` happens (for APScheduler)."""
        ...

    def real_seconds(self, seconds: float) -> float:
        """How many wall-clock seconds `seconds` of bot time take."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of bot time."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def to_real(self, when: datetime) -> datetime:
        return when

    def real_seconds(self, seconds: float) -> float:
        return seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Bot time that runs `speed` times faster than the wall clock.

    Used by rehearsals: bot time starts at `anchor` when the clock is made, so
    a campaign whose T is anchored a few minutes ahead plays out quickly while
    every component (outbox pacing included) keeps its own notion of seconds.
    """

    def __init__(self, anchor: datetime, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.anchor = anchor
        self.speed = speed
        self._real_start = time.time()

    def now(self) -> datetime:
        return self.anchor + timedelta(seconds=(time.time() - self._real_start) * self.speed)

    def to_real(self, when: datetime) -> datetime:
        elapsed = (when - self.anchor).total_seconds() / self.speed
        return datetime.fromtimestamp(self._real_start + elapsed, UTC)

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds / self.speed))

    def jump(self, seconds: float) -> None:
        """Skip ahead `seconds` of bot time at once (rehearsals skip quiet stretches)."""
        self.anchor += timedelta(seconds=seconds)
