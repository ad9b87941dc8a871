"""Ending a simulator run: a cancelled wait on the system clock must stay cancelled.

`tuanbot run` cancels the outbox's sender at end of input. On Python 3.11,
`asyncio.wait_for` swallowed a cancellation that arrived just as the awaited
event was set (the last reply queued as input ended), so the sender kept
running and the run never exited (issue 13.16).
"""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import SystemClock


async def test_a_sender_cancelled_as_its_event_is_set_stops() -> None:
    event = asyncio.Event()

    async def sender() -> None:  # the shape of Outbox.run
        while True:
            event.clear()
            await SystemClock().wait(event, 3600)  # the next pacing slot

    task = asyncio.create_task(sender())
    await asyncio.sleep(0)  # the sender is parked on the event
    event.set()  # a reply is queued ...
    await asyncio.sleep(0)  # ... and the event's own waiter has woken
    task.cancel()  # ... just as end of input cancels the sender
    for _ in range(5):
        await asyncio.sleep(0)
    stopped = task.done()
    task.cancel()  # a second cancel reaches a parked sender; the test must not hang either way
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped, "the sender swallowed its cancellation and kept going"


async def test_wait_still_returns_when_the_event_is_set_or_the_time_passes() -> None:
    event = asyncio.Event()
    event.set()
    await SystemClock().wait(event, 3600)  # the next pacing slot
    await SystemClock().wait(asyncio.Event(), 0)
