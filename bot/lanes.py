"""Conversation lanes: the transport reads on while a message that waits for a thread is handled.

Why: a transport delivers one message at a time (the wechaty adapter awaits each before it reads
the next). A message whose handler awaits a read in a worker thread (我的订单: a millisecond of
SQL, then several more waiting for the interpreter lock while chat goes on) held every group's
next message behind it: in the routing benchmark 1.3 % of the messages took 60 % of the wall
time (docs/performance.md). The rules keep every order a member or a leader can see:

* a member's group message starts at once, in the transport's turn; only if it must wait does it
  go on in the background while the transport reads on (most messages never wait, so they cost
  no task at all);
* the messages of one group are handled in the order they arrived: a later one waits for the
  earlier ones of its group, in the background too;
* anything else (a private message, a status event, a leader's or an admin's message) is a
  barrier: it waits for every message before it, and the transport waits for it;
* what this gives up: across groups, arrival order. An order in a group whose previous message is
  still waiting (milliseconds) reaches the order writer after orders other groups sent later, so
  with stock shared across groups the last unit can go to the later one;
* at most `limit` messages wait in the background; past that the transport waits, as before, so
  a stuck database fills the chat network's buffers and not this process's memory.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Generic, TypeVar

from loguru import logger

R = TypeVar("R")
LIMIT = 1_000


async def _carry_on(coro: Coroutine[Any, Any, R], waiting_on: Any) -> R:
    """Go on with `coro`, which has already run up to its first wait on `waiting_on`, as a task
    would (Python 3.12's eager tasks do this; 3.11 has none). A native coroutine: 3.12 and later
    take nothing else as a task."""
    return await _resume(coro, waiting_on)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, R], waiting_on: Any) -> Generator[Any, Any, R]:
    """Pass `coro`'s waits to the task, and the task's wake-ups and cancellation back to it."""
    while True:
        try:
            yield waiting_on
        except BaseException as exc:  # the task cancelled, or threw into the wait
            try:
                waiting_on = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                waiting_on = coro.send(None)
            except StopIteration as done:
                return done.value


class Lanes(Generic[R]):
    """Hands events to `handle` under the rules above. `lane_of(event)` names an event's lane
    (its group), or None for a barrier."""

    def __init__(
        self,
        handle: Callable[[Any], Coroutine[Any, Any, R]],
        lane_of: Callable[[Any], str | None],
        *,
        limit: int = LIMIT,
    ) -> None:
        self._handle = handle
        self._lane_of = lane_of
        self._limit = limit
        self._tails: dict[str, asyncio.Task[R]] = {}  # each lane's latest message still in hand
        self._running: set[asyncio.Task[R]] = set()
        # Who waits for a message to end (the limit) and for none to be left (a barrier): one
        # future each, woken by `_ended`. `asyncio.wait` on the running set instead put a callback
        # on every running message for every barrier, and took it off again (late in a flood, 24
        # running messages a barrier: 5 % of the event loop's time, docs/performance.md).
        self._on_end: list[asyncio.Future[None]] = []
        self._on_idle: list[asyncio.Future[None]] = []

    def waiting(self) -> int:
        """Messages handled in the background right now."""
        return len(self._running)

    async def receive(self, event: Any) -> R | None:
        """Handle `event`; None when it goes on in the background (its result is not known yet)."""
        lane = self._lane_of(event)
        if lane is None:
            await self.drain()
            return await self._handle(event)
        tail = self._tails.get(lane)
        if tail is not None:
            self._track(lane, asyncio.get_running_loop().create_task(self._after(tail, event)))
        else:
            context = contextvars.copy_context()  # the first step runs in the task's own context
            coro = self._handle(event)
            try:
                waiting_on = context.run(coro.send, None)
            except StopIteration as done:
                return done.value
            task = asyncio.get_running_loop().create_task(_carry_on(coro, waiting_on), context=context)
            self._track(lane, task)
        if len(self._running) >= self._limit:
            await self._woken(self._on_end)
        return None

    async def drain(self) -> None:
        """Wait until no message is in hand (a barrier, or the transport has finished)."""
        while self._running:
            await self._woken(self._on_idle)

    @staticmethod
    async def _woken(waiters: list[asyncio.Future[None]]) -> None:
        waiter = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            await waiter
        finally:
            if not waiter.done():  # cancelled while waiting: no longer among the waiters
                waiters.remove(waiter)

    async def cancel(self) -> None:
        """Stop what is still in hand (the app stops without draining: the database may be stuck)."""
        running = list(self._running)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)

    async def _after(self, earlier: asyncio.Task[R], event: Any) -> R:
        if not earlier.done():  # its outcome is its own: logged when it ends
            await _end_of(earlier)
        return await self._handle(event)

    def _track(self, lane: str, task: asyncio.Task[R]) -> None:
        self._tails[lane] = task
        self._running.add(task)
        task.add_done_callback(lambda done: self._ended(lane, done))

    def _ended(self, lane: str, task: asyncio.Task[R]) -> None:
        self._running.discard(task)
        if self._tails.get(lane) is task:
            del self._tails[lane]
        _wake(self._on_end)
        if not self._running:
            _wake(self._on_idle)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.opt(exception=exc).error("a message handled in the background raised")


def _end_of(task: asyncio.Task[Any]) -> asyncio.Future[None]:
    """A future done when `task` is, whatever its outcome. A quarter of a flood's messages wait
    for the one before them in their group: `asyncio.wait([task])` cost them a set, a callback
    on and off the task, and a timeout handle each."""
    ended: asyncio.Future[None] = task.get_loop().create_future()

    def end(_: asyncio.Task[Any]) -> None:
        if not ended.done():  # the waiting message was cancelled meanwhile
            ended.set_result(None)

    task.add_done_callback(end)
    return ended


def _wake(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
    waiters.clear()


__all__ = ["LIMIT", "Lanes"]
