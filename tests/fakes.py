"""Test doubles: fake and scaled clocks and an in-memory transport. Only the chat network is faked."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import App
from bot.clock import wait_real
from bot.events import Event, Outgoing
from bot.router import DispatchResult
from bot.transports.base import EventSink, SendError


class FakeClock:
    """Bot time that moves only when told to (or when something sleeps on it)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        self._now = when

    def to_real(self, when: datetime) -> datetime:
        return when

    def real_seconds(self, seconds: float) -> float:
        return seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    async def wait(self, event: asyncio.Event, seconds: float | None) -> None:
        await wait_real(event, seconds)


class ScaledClock:
    """Bot time that runs `speed` times faster than the wall clock.

    For the end-to-end tests against a real chat peer, where time must keep moving
    on its own. The bot's own milliseconds of work are multiplied by `speed` too,
    which is why rehearsals use `bot.clock.VirtualClock` instead.
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

    async def wait(self, event: asyncio.Event, seconds: float | None) -> None:
        await wait_real(event, None if seconds is None else seconds / self.speed)


class FakeTransport:
    """In-memory transport: `inject` runs dispatch to completion and sends what it queued.

    No threads, no sleeps: the outbox is drained on the fake clock, so its pacing
    is real but instantaneous. `fail_next` makes the next sends raise. Pictures are
    in `sent` like every message, and their paths in `images` (`texts()` lists words only).
    """

    name = "fake"

    def __init__(self, app: App, clock: FakeClock) -> None:
        self.app = app
        self.clock = clock
        self.sent: list[Outgoing] = []
        self.sent_at: list[datetime] = []
        self.fail_next: list[SendError] = []
        self.connected = True
        app.services.outbox.attach(self)
        app.transport = self

    async def start(self, sink: EventSink) -> None:  # pragma: no cover - tests call inject instead
        return None

    async def send(self, message: Outgoing) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        if message.is_image and not Path(message.text).is_file():
            raise SendError(f"fake: no picture at {message.text}", retryable=False)  # as the real ones
        self.sent.append(message)
        self.sent_at.append(self.clock.now())

    async def stop(self) -> None:
        return None

    async def inject(self, event: Event, *, drain: bool = True) -> DispatchResult:
        result = await self.app.handle_event(event)
        await self.app.services.settle()  # orders handed to the writer: committed and answered
        if drain:
            await self.app.services.outbox.drain()
        return result

    def texts(self, group_id: str | None = None) -> list[str]:
        """What the bot said (in `group_id`), without the pictures it sent."""
        return [m.text for m in self.sent if not m.is_image and (group_id is None or m.group_id == group_id)]

    def private_texts(self, member_id: str) -> list[str]:
        return [m.text for m in self.sent if not m.is_image and m.member_id == member_id]

    def images(self, group_id: str | None = None) -> list[Path]:
        """The files of the pictures sent (to `group_id`), in order."""
        return [
            Path(m.text) for m in self.sent if m.is_image and (group_id is None or m.group_id == group_id)
        ]

    def clear(self) -> None:
        self.sent.clear()
        self.sent_at.clear()
