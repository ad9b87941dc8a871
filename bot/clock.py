"""Time as the bot sees it.

Everything that reads the time asks a `Clock`, so tests can use a fake one and a
rehearsal can play a three-day campaign in a minute (`VirtualClock`). Times are always
timezone-aware UTC datetimes; campaign timezones apply only when rendering.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
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

    async def wait(self, event: asyncio.Event, seconds: float | None) -> None:
        """Wait until `event` is set or `seconds` of bot time pass (forever if None)."""
        ...


async def wait_real(event: asyncio.Event, seconds: float | None) -> None:
    """Wait for `event` at most `seconds` wall-clock seconds.

    Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives as the event is
    set, and the outbox's sender, cancelled at end of input, then never stopped (issue 13.16).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(None if seconds is None else max(0.0, seconds)):
            await event.wait()


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

    async def wait(self, event: asyncio.Event, seconds: float | None) -> None:
        await wait_real(event, seconds)


@dataclass(eq=False)
class _Parked:
    """A task waiting on the virtual clock, until `deadline` or until `event` is set."""

    deadline: datetime | None
    woken: asyncio.Future[None]
    event: asyncio.Event | None

    def wake(self) -> None:
        if not self.woken.done():
            self.woken.set_result(None)

    @property
    def runnable(self) -> bool:
        return self.woken.done() or (self.event is not None and self.event.is_set())


class VirtualClock:
    """Bot time that stands still until a driver moves it (discrete-event time).

    On a scaled clock the bot's own milliseconds of work are multiplied by the
    speed (at 3600x, 20 ms of work is over a minute of campaign time), and a
    rehearsal's times depended on how busy the machine was. Here bot time moves
    only when the driver (the rehearsal) has seen every task that waits on the
    clock parked and no job running, so a transcript shows exactly the pacing
    real groups would see, on any machine and at any speed.

    APScheduler keeps running on the wall clock: `to_real` maps bot time ten
    years ahead, so no campaign job fires by itself; the driver releases each
    one when bot time reaches it (`schedules.virtual_time`).
    """

    REAL_LEAD = timedelta(days=3650)

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._offset = datetime.now(UTC) + self.REAL_LEAD - start
        self._parked: list[_Parked] = []

    def now(self) -> datetime:
        return self._now

    def to_real(self, when: datetime) -> datetime:
        return when + self._offset

    def from_real(self, real: datetime) -> datetime:
        """The bot time of a wall-clock instant made by `to_real`."""
        return real - self._offset

    def is_bot_time(self, real: datetime) -> bool:
        """Whether a scheduler time came from `to_real` (and not from a wall-clock job)."""
        return real - datetime.now(UTC) > self.REAL_LEAD / 2

    def real_seconds(self, seconds: float) -> float:
        return seconds

    async def sleep(self, seconds: float) -> None:
        await self._park(seconds, None)

    async def wait(self, event: asyncio.Event, seconds: float | None) -> None:
        if not event.is_set():
            await self._park(seconds, event)

    async def _park(self, seconds: float | None, event: asyncio.Event | None) -> None:
        deadline = None if seconds is None else self._now + timedelta(seconds=max(0.0, seconds))
        parked = _Parked(deadline, asyncio.get_running_loop().create_future(), event)
        self._parked.append(parked)
        watcher: asyncio.Task[bool] | None = None
        if event is not None:
            watcher = asyncio.ensure_future(event.wait())
            watcher.add_done_callback(lambda _: parked.wake())
        try:
            await parked.woken
        finally:
            self._parked.remove(parked)
            if watcher is not None:
                watcher.cancel()

    # -- for the driver ---------------------------------------------------------------
    def busy(self) -> bool:
        """True while some task woken from the clock has not parked on it again yet."""
        return any(p.runnable for p in self._parked)

    def next_deadline(self) -> datetime | None:
        deadlines = [p.deadline for p in self._parked if p.deadline is not None and not p.runnable]
        return min(deadlines, default=None)

    def advance_to(self, when: datetime) -> None:
        """Move bot time to `when` and wake everything whose wait ends by then."""
        self._now = max(self._now, when)
        for parked in self._parked:
            if parked.deadline is not None and parked.deadline <= self._now:
                parked.wake()
