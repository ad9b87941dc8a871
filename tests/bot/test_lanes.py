"""A message waiting for a thread holds only its own group: the transport reads on (bot/lanes.py).

The app test runs the real `App.run` with a transport that delivers as the wechaty adapter does
(each message awaited before the next is read) and a handler that reads in a worker thread, as
我的订单 does; the read is held until the other group's answer is queued.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import random
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from bot.app import App
from bot.context import Context
from bot.events import GroupMessage, Member, PrivateMessage
from bot.feature import Feature
from bot.handler import on_message, on_private
from bot.lanes import Lanes
from tests.conftest import make_config
from tests.fakes import FakeClock

# --------------------------------------------------------------------------- the app, end to end
READ_HELD = threading.Event()
ANSWERED: list[str] = []  # what the probe handlers answered, in order


def _answer(ctx: Context, text: str, **where: str) -> None:
    ANSWERED.append(text)
    ctx.services.outbox.enqueue(text, **where)


@on_message(r"^slow read$")
async def slow_read(msg: GroupMessage, ctx: Context) -> bool:
    """Reads in a worker thread, as 我的订单 does; the test decides when the read finishes."""
    answered = await asyncio.to_thread(READ_HELD.wait, 10)
    _answer(ctx, f"read:{msg.group_id}:{answered}", group_id=msg.group_id)
    return True


@on_message(r"^hello$")
async def hello(msg: GroupMessage, ctx: Context) -> bool:
    _answer(ctx, f"hello:{msg.group_id}", group_id=msg.group_id)
    return True


@on_private(r"^ping$")
async def ping(msg: PrivateMessage, ctx: Context) -> bool:
    _answer(ctx, "pong", member_id=msg.sender.id)
    return True


def _group(n: int, group: str, text: str, sender: str = "alice") -> GroupMessage:
    return GroupMessage(
        message_id=f"l{n}", group_id=group, sender=Member(sender, sender), text=text, time=FakeClock().now()
    )


@dataclass
class AdapterLike:
    """Delivers `events` one at a time and awaits each, as `bot.transports.wechaty_supervisor`
    does; `returned_while_held` says which deliveries came back while the read was held."""

    events: list[Any]
    app: App
    name: str = "adapter-like"
    returned_while_held: list[str] = field(default_factory=list)
    answered_when_released: list[str] = field(default_factory=list)

    async def start(self, sink: Any) -> None:
        for event in self.events:
            await asyncio.wait_for(sink(event), timeout=5)
            if not READ_HELD.is_set():
                self.returned_while_held.append(event.message_id)
        self.answered_when_released = list(ANSWERED)
        READ_HELD.set()

    async def send(self, message: Any) -> None:
        return None

    async def stop(self) -> None:
        return None


async def test_a_message_waiting_for_a_read_does_not_hold_other_groups(tmp_path: Path) -> None:
    READ_HELD.clear()
    ANSWERED.clear()
    probe = Feature("lanes-probe", modules=(sys.modules[__name__],))
    app = App.build(make_config(tmp_path), clock=FakeClock(), features=[probe], rng=random.Random(1))
    events = [
        _group(1, "g-a", "slow read"),
        _group(2, "g-a", "hello"),  # same group: after the read
        _group(3, "g-b", "hello"),
        _group(4, "g-c", "hello"),
    ]
    transport = AdapterLike(events, app)
    try:
        await asyncio.wait_for(app.run(transport, drain_seconds=0), timeout=30)
    finally:
        READ_HELD.set()  # the worker thread must not outlive a failed test
    # The read in g-a was still held while g-b's and g-c's messages were read and answered ...
    assert transport.returned_while_held == ["l1", "l2", "l3", "l4"]
    assert transport.answered_when_released == ["hello:g-b", "hello:g-c"]
    # ... and g-a's answers came in order when the read finished, before the app stopped.
    assert ANSWERED == ["hello:g-b", "hello:g-c", "read:g-a:True", "hello:g-a"]


async def test_a_private_message_waits_for_the_groups_before_it(tmp_path: Path) -> None:
    READ_HELD.clear()
    ANSWERED.clear()
    probe = Feature("lanes-probe", modules=(sys.modules[__name__],))
    app = App.build(make_config(tmp_path), clock=FakeClock(), features=[probe], rng=random.Random(1))
    ping = PrivateMessage(message_id="l9", sender=Member("bob", "bob"), text="ping", time=FakeClock().now())

    class Releasing(AdapterLike):
        async def start(self, sink: Any) -> None:
            await sink(self.events[0])
            threading.Timer(0.2, READ_HELD.set).start()
            await asyncio.wait_for(sink(ping), timeout=5)  # returns once the read and the ping are done

    transport = Releasing([_group(1, "g-a", "slow read")], app)
    try:
        await asyncio.wait_for(app.run(transport, drain_seconds=0), timeout=30)
    finally:
        READ_HELD.set()
    assert ANSWERED == ["read:g-a:True", "pong"]


# --------------------------------------------------------------------------- the lanes themselves
class Gate:
    """A handler whose messages named in `held` wait until released; records the order handled."""

    def __init__(self, *held: str) -> None:
        self.held = {name: asyncio.Event() for name in held}
        self.started: list[str] = []
        self.finished: list[str] = []

    async def handle(self, event: tuple[str, str]) -> str:
        lane, name = event
        self.started.append(name)
        if name in self.held:
            await self.held[name].wait()
        self.finished.append(name)
        return name


def by_lane(event: tuple[str, str]) -> str | None:
    return event[0] or None  # an empty lane: a barrier


async def test_a_message_that_never_waits_is_handled_in_the_transports_turn() -> None:
    gate = Gate()
    lanes = Lanes(gate.handle, by_lane)
    assert await lanes.receive(("g1", "a")) == "a"
    assert gate.finished == ["a"] and lanes.waiting() == 0


async def test_a_message_going_on_in_the_background_is_a_coroutine_task() -> None:
    """Python 3.12 and later accept only coroutines as tasks (3.11 also took a generator-based
    one): the message that waits must go on as a native coroutine, or every such message fails
    with "a coroutine was expected" on the interpreters the README allows."""
    gate = Gate("a1")
    lanes = Lanes(gate.handle, by_lane)
    loop = asyncio.get_running_loop()
    given: list[object] = []
    create_task = loop.create_task

    def checking(coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        given.append(coro)
        return create_task(coro, **kwargs)

    loop.create_task = checking  # type: ignore[method-assign]
    try:
        assert await lanes.receive(("g1", "a1")) is None
        assert await lanes.receive(("g1", "a2")) is None
    finally:
        del loop.create_task
    assert len(given) == 2 and all(inspect.iscoroutine(coro) for coro in given)
    gate.held["a1"].set()
    await lanes.drain()
    assert gate.finished == ["a1", "a2"]


async def test_one_groups_messages_keep_their_order_and_others_pass() -> None:
    gate = Gate("a1")
    lanes = Lanes(gate.handle, by_lane)
    assert await lanes.receive(("g1", "a1")) is None  # waits: goes on in the background
    assert await lanes.receive(("g1", "a2")) is None  # same group: after a1
    assert await lanes.receive(("g2", "b1")) == "b1"  # another group: at once
    await asyncio.sleep(0.01)
    assert gate.finished == ["b1"] and gate.started == ["a1", "b1"]
    gate.held["a1"].set()
    await lanes.drain()
    assert gate.finished == ["b1", "a1", "a2"] and lanes.waiting() == 0


async def test_a_barrier_waits_for_everything_before_it() -> None:
    gate = Gate("a1")
    lanes = Lanes(gate.handle, by_lane)
    await lanes.receive(("g1", "a1"))
    barrier = asyncio.create_task(lanes.receive(("", "leader")))
    await asyncio.sleep(0.01)
    assert not barrier.done() and "leader" not in gate.started
    gate.held["a1"].set()
    assert await asyncio.wait_for(barrier, 1) == "leader"
    assert gate.finished == ["a1", "leader"]


async def test_past_the_limit_the_transport_waits() -> None:
    gate = Gate("a", "b")
    lanes = Lanes(gate.handle, by_lane, limit=2)
    assert await lanes.receive(("g1", "a")) is None
    third = asyncio.create_task(lanes.receive(("g2", "b")))
    await asyncio.sleep(0.01)
    assert not third.done()  # two in hand: the transport waits
    gate.held["a"].set()
    assert await asyncio.wait_for(third, 1) is None
    assert lanes.waiting() == 1


async def test_context_set_before_the_first_wait_is_reset_after_it() -> None:
    """The first step runs in the task's context, so a `with logger.contextualize(...)` (or any
    context variable set and reset around a wait) works when the message goes on in the background."""
    traced: contextvars.ContextVar[str] = contextvars.ContextVar("traced", default="")
    released = asyncio.Event()
    seen: list[str] = []

    async def handle(event: tuple[str, str]) -> str:
        token = traced.set(event[1])
        with logger.contextualize(msg=event[1]):
            await released.wait()
            seen.append(traced.get())
        traced.reset(token)  # raises ValueError if the wait moved it to another context
        return event[1]

    lanes = Lanes(handle, by_lane)
    await lanes.receive(("g1", "x"))
    assert traced.get() == ""  # nothing leaked into the transport's context
    released.set()
    await lanes.drain()
    assert seen == ["x"]


async def test_a_handler_that_raises_in_the_background_is_logged(caplog_loguru: list[str]) -> None:
    release = asyncio.Event()

    async def handle(event: tuple[str, str]) -> str:
        await release.wait()
        raise RuntimeError("boom")

    lanes = Lanes(handle, by_lane)
    await lanes.receive(("g1", "x"))
    release.set()
    await lanes.drain()
    assert any("in the background raised" in line and "boom" in line for line in caplog_loguru)


async def test_the_next_message_of_a_group_runs_whatever_the_one_before_did() -> None:
    """The follower waits for the end of the message before it, not for its success."""
    release = asyncio.Event()
    handled: list[str] = []

    async def handle(event: tuple[str, str]) -> str:
        if event[1] == "raises":
            await release.wait()
            raise RuntimeError("boom")
        if event[1] == "stuck":
            await asyncio.Event().wait()
        handled.append(event[1])
        return event[1]

    lanes = Lanes(handle, by_lane)
    await lanes.receive(("g1", "raises"))
    await lanes.receive(("g1", "after-raise"))
    await lanes.receive(("g2", "stuck"))
    await lanes.receive(("g2", "after-cancel"))
    release.set()
    await asyncio.sleep(0.01)
    assert handled == ["after-raise"]
    next(iter(t for t in lanes._running if t is not lanes._tails["g2"])).cancel()
    await asyncio.wait_for(lanes.drain(), 1)
    assert handled == ["after-raise", "after-cancel"]


async def test_cancel_stops_what_is_in_hand() -> None:
    gate = Gate("a")
    lanes = Lanes(gate.handle, by_lane)
    await lanes.receive(("g1", "a"))
    await lanes.cancel()
    assert lanes.waiting() == 0 and gate.finished == []


@pytest.fixture
def caplog_loguru() -> Any:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="ERROR")
    yield lines
    logger.remove(sink)


async def test_a_leaders_group_message_waits_for_the_groups_before_it(tmp_path: Path) -> None:
    """Leaders steer the sale: their message applies after what members said before it, in every
    group. Rights by id: the same name from another id is an ordinary member."""
    READ_HELD.clear()
    ANSWERED.clear()
    probe = Feature("lanes-probe", modules=(sys.modules[__name__],))
    config = make_config(tmp_path, groups={"g-b": {"name": "二群", "leaders": ["lily"]}})
    app = App.build(config, clock=FakeClock(), features=[probe], rng=random.Random(1))
    assert app._lane_of(_group(5, "g-b", "hello", sender="lily")) is None
    assert app._lane_of(_group(6, "g-a", "hello", sender="lily")) == "g-a"  # not her group
    assert app._lane_of(_group(7, "g-b", "hello", sender="alice")) == "g-b"

    class Releasing(AdapterLike):
        async def start(self, sink: Any) -> None:
            await sink(self.events[0])
            threading.Timer(0.2, READ_HELD.set).start()
            await asyncio.wait_for(sink(self.events[1]), timeout=5)

    transport = Releasing([_group(1, "g-a", "slow read"), _group(2, "g-b", "hello", sender="lily")], app)
    try:
        await asyncio.wait_for(app.run(transport, drain_seconds=0), timeout=30)
    finally:
        READ_HELD.set()
    assert ANSWERED == ["read:g-a:True", "hello:g-b"]
