"""The rehearsal's discrete-event clock: time moves only when the driver says so."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.clock import VirtualClock

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


async def test_sleep_parks_until_time_is_advanced_past_its_deadline() -> None:
    clock = VirtualClock(T0)
    woke: list[datetime] = []

    async def sleeper() -> None:
        await clock.sleep(30)
        woke.append(clock.now())

    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0.05)  # real time passes; bot time does not
    assert clock.now() == T0 and not woke and not clock.busy()
    assert clock.next_deadline() == T0 + timedelta(seconds=30)
    clock.advance_to(T0 + timedelta(seconds=29))
    await asyncio.sleep(0)
    assert not woke
    clock.advance_to(T0 + timedelta(seconds=30))
    assert clock.busy()  # woken, not yet resumed: the driver must not move time again
    await task
    assert woke == [T0 + timedelta(seconds=30)] and not clock.busy() and clock.next_deadline() is None


async def test_wait_ends_on_the_event_without_moving_time() -> None:
    clock = VirtualClock(T0)
    event = asyncio.Event()
    task = asyncio.create_task(clock.wait(event, 60))
    await asyncio.sleep(0)
    assert clock.next_deadline() == T0 + timedelta(seconds=60)
    event.set()
    assert clock.busy()
    await asyncio.wait_for(task, 1)
    assert clock.now() == T0 and clock.next_deadline() is None


async def test_wait_without_a_timeout_has_no_deadline_and_time_never_goes_back() -> None:
    clock = VirtualClock(T0)
    event = asyncio.Event()
    task = asyncio.create_task(clock.wait(event, None))
    await asyncio.sleep(0)
    assert clock.next_deadline() is None and not clock.busy()
    clock.advance_to(T0 - timedelta(hours=1))
    assert clock.now() == T0
    event.set()
    await asyncio.wait_for(task, 1)


def test_scheduler_times_sit_years_ahead_and_map_back() -> None:
    clock = VirtualClock(T0)
    when = T0 + timedelta(days=3)
    real = clock.to_real(when)
    assert real > datetime.now(UTC) + timedelta(days=365) and clock.is_bot_time(real)
    assert clock.from_real(real) == when
    assert not clock.is_bot_time(datetime.now(UTC) + timedelta(minutes=1))
