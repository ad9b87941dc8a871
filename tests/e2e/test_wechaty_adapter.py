"""WechatyTransport against a real Wechaty puppet service (npm PuppetServer + wechaty-puppet-mock).

One service and one transport are shared by the module (tests run in file order on
one event loop); the reconnection test restarts the service and comes last.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import pytest_asyncio

pytest.importorskip(
    "wechaty_puppet", reason="the `wechaty` extra is not installed (pip install -e '.[wechaty]')"
)

from bot.events import (
    Event,
    GroupMessage,
    GroupRenamed,
    Member,
    MemberJoined,
    MemberLeft,
    Outgoing,
    PrivateMessage,
    TransportStatus,
)
from bot.transports.base import SendError
from bot.transports.wechaty_adapter import WechatyTransport

from .conftest import MockService, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

BOT, ALICE, BOB, CAROL = "bot-tuan", "wxid_alice", "wxid_bob", "wxid_carol"
ROOM = "20001@chatroom"
TOPIC = "幸福小区团购群"
WAIT = 10.0
E = TypeVar("E")


class Collector:
    """The event sink: records events and lets a test wait for one (bounded)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def mark(self) -> int:
        return len(self.events)

    async def wait(
        self,
        kind: type[E],
        predicate: Callable[[E], bool] = lambda _: True,
        *,
        start: int = 0,
        timeout: float = WAIT,
    ) -> E:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for event in self.events[start:]:
                if isinstance(event, kind) and predicate(event):
                    return event
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {kind.__name__} within {timeout}s; got {self.events[start:]!r}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def since(self, start: int) -> list[Event]:
        return self.events[start:]


@pytest.fixture(scope="module")
def service(mock_service_factory: Callable[..., MockService]) -> MockService:
    svc = mock_service_factory()
    svc.create_contact(BOT, "团购助手")
    svc.create_contact(ALICE, "Alice")
    svc.create_contact(BOB, "Bob 王")
    svc.create_contact(CAROL, "Carol")
    svc.create_room(ROOM, TOPIC, [BOT, ALICE, BOB])
    svc.login(BOT)
    return svc


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def wired(service: MockService) -> AsyncIterator[tuple[WechatyTransport, Collector]]:
    transport = WechatyTransport(
        service.endpoint,
        service.token,
        reconnect_initial=0.2,
        reconnect_max=1.0,
        heartbeat_interval=2.0,
        connect_timeout=2.0,
    )
    collector = Collector()
    task = asyncio.create_task(transport.start(collector))
    try:
        await collector.wait(TransportStatus, lambda s: s.kind == "login", timeout=20)
        yield transport, collector
    finally:
        await transport.stop()
        await asyncio.wait_for(task, 15)


async def say_and_wait(service: MockService, collector: Collector, text: str, **kwargs: Any) -> GroupMessage:
    start = collector.mark()
    message_id = await asyncio.to_thread(service.say, ALICE, text, room_id=ROOM, **kwargs)
    return await collector.wait(GroupMessage, lambda m: m.message_id == message_id, start=start)


async def test_login_is_reported(wired: tuple[WechatyTransport, Collector]) -> None:
    transport, collector = wired
    login = await collector.wait(TransportStatus, lambda s: s.kind == "login")
    assert login.account_id == BOT
    assert login.detail == "团购助手"
    assert transport.connected


async def test_group_message_arrives(service: MockService, wired: tuple[WechatyTransport, Collector]) -> None:
    _, collector = wired
    before = datetime.now(UTC)
    msg = await say_and_wait(service, collector, "@团购助手 我要两份 苹果🍎", mentions=[BOT])
    assert msg.group_id == ROOM
    assert msg.sender == Member(ALICE, "Alice")
    assert msg.text == "@团购助手 我要两份 苹果🍎"
    assert msg.group_name == TOPIC
    assert msg.mentions == (BOT,)
    assert msg.mentions_bot
    assert msg.time.tzinfo is not None
    assert before - timedelta(seconds=5) <= msg.time <= datetime.now(UTC) + timedelta(seconds=5)

    plain = await say_and_wait(service, collector, "大家好")
    assert plain.mentions == () and not plain.mentions_bot


async def test_private_message_arrives(
    service: MockService, wired: tuple[WechatyTransport, Collector]
) -> None:
    _, collector = wired
    start = collector.mark()
    message_id = service.say(BOB, "/help", to_contact_id=BOT)
    msg = await collector.wait(PrivateMessage, lambda m: m.message_id == message_id, start=start)
    assert msg.sender == Member(BOB, "Bob 王")
    assert msg.text == "/help"


async def test_member_join_leave_and_rename(
    service: MockService, wired: tuple[WechatyTransport, Collector]
) -> None:
    _, collector = wired
    start = collector.mark()
    service.add_member(ROOM, [CAROL], inviter_id=ALICE)
    joined = await collector.wait(MemberJoined, lambda e: e.group_id == ROOM, start=start)
    assert joined.members == (Member(CAROL, "Carol"),)
    assert joined.inviter == Member(ALICE, "Alice")
    assert joined.group_name == TOPIC
    assert joined.event_id

    start = collector.mark()
    service.remove_member(ROOM, [CAROL], remover_id=ALICE)
    left = await collector.wait(MemberLeft, lambda e: e.group_id == ROOM, start=start)
    assert left.members == (Member(CAROL, "Carol"),)

    start = collector.mark()
    service.set_topic(ROOM, "幸福小区团购2群", changer_id=ALICE)
    renamed = await collector.wait(GroupRenamed, lambda e: e.group_id == ROOM, start=start)
    assert (renamed.old_name, renamed.new_name) == (TOPIC, "幸福小区团购2群")
    msg = await say_and_wait(service, collector, "改名了")
    assert msg.group_name == "幸福小区团购2群"  # names are refreshed, ids stay
    start = collector.mark()
    service.set_topic(ROOM, TOPIC, changer_id=ALICE)
    await collector.wait(GroupRenamed, lambda e: e.new_name == TOPIC, start=start)


async def test_send_to_group_and_member(
    service: MockService, wired: tuple[WechatyTransport, Collector]
) -> None:
    transport, _ = wired
    start = len(service.bot_said)
    await transport.send(Outgoing(text="欢迎新朋友 🎉", group_id=ROOM))
    said = await service.await_bot_said(lambda s: s["text"] == "欢迎新朋友 🎉", start=start)
    assert said["room"] == ROOM

    await transport.send(Outgoing(text="您的订单已确认", member_id=ALICE))
    said = await service.await_bot_said(lambda s: s["text"] == "您的订单已确认", start=start)
    assert said["room"] == "" and said["to"] == ALICE

    await transport.send(Outgoing(text="请付款", group_id=ROOM, mentions=(ALICE,)))
    said = await service.await_bot_said(lambda s: s["text"].endswith("请付款"), start=start)
    assert said["text"] == "@Alice 请付款"  # like the SDK's Room.say: "@name" prefixes, then a space


async def test_bad_outgoing_is_not_retryable(wired: tuple[WechatyTransport, Collector]) -> None:
    transport, _ = wired
    with pytest.raises(SendError) as caught:
        await transport.send(Outgoing(text="x"))
    assert not caught.value.retryable


async def test_own_messages_are_not_delivered(
    service: MockService, wired: tuple[WechatyTransport, Collector]
) -> None:
    transport, collector = wired
    start = collector.mark()
    said_start = len(service.bot_said)
    await transport.send(Outgoing(text="我是机器人说的话", group_id=ROOM))
    await service.await_bot_said(lambda s: s["text"] == "我是机器人说的话", start=said_start)
    # Events arrive in order: once this later marker is through, the bot's own message was seen and dropped.
    await say_and_wait(service, collector, "marker after bot message")
    texts = [e.text for e in collector.since(start) if isinstance(e, GroupMessage | PrivateMessage)]
    assert texts == ["marker after bot message"]
    assert all(e.sender.id != BOT for e in collector.events if isinstance(e, GroupMessage | PrivateMessage))


async def test_round_trip_latency(service: MockService, wired: tuple[WechatyTransport, Collector]) -> None:
    """Member says -> adapter event -> adapter send -> the mock room receives the reply."""
    transport, collector = wired
    rounds = 120
    latencies: list[float] = []
    said_start = len(service.bot_said)
    for i in range(rounds):
        start = collector.mark()
        t0 = time.perf_counter()
        message_id = service.say(ALICE, f"+1 苹果 #{i}", room_id=ROOM)
        msg = await collector.wait(GroupMessage, lambda m, mid=message_id: m.message_id == mid, start=start)
        await transport.send(Outgoing(text=f"收到 {msg.text}", group_id=ROOM))
        said = await service.await_bot_said(
            lambda s, i=i: s["text"] == f"收到 +1 苹果 #{i}", start=said_start
        )
        latencies.append((said["received_at"] - t0) * 1000)
    replies = [t for t in service.said_texts(ROOM, start=said_start) if t.startswith("收到 +1")]
    assert len(replies) == rounds and len(set(replies)) == rounds  # each once, none lost
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
    print(
        f"\nwechaty round trip over {rounds} messages: median {statistics.median(latencies):.1f} ms, "
        f"p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
    )


async def test_detects_a_hung_service(
    service: MockService, wired: tuple[WechatyTransport, Collector]
) -> None:
    """A service that stops answering (no TCP reset) is caught by the heartbeat."""
    transport, collector = wired
    start = collector.mark()
    service.pause()
    try:
        await collector.wait(TransportStatus, lambda s: s.kind == "disconnected", start=start, timeout=15)
        assert not transport.connected
    finally:
        service.resume()
    await collector.wait(TransportStatus, lambda s: s.kind == "reconnected", start=start, timeout=20)
    said_start = len(service.bot_said)
    await transport.send(Outgoing(text="心跳恢复", group_id=ROOM))
    await service.await_bot_said(lambda s: s["text"] == "心跳恢复", start=said_start)


async def test_reconnects_after_service_restart(
    service: MockService, wired: tuple[WechatyTransport, Collector]
) -> None:
    transport, collector = wired
    start = collector.mark()
    await asyncio.to_thread(service.stop)  # SIGKILL: the service crashes
    await collector.wait(TransportStatus, lambda s: s.kind == "disconnected", start=start)
    assert not transport.connected

    queued = Outgoing(text="断线期间排队的消息", group_id=ROOM, outbox_id=42)
    t0 = time.perf_counter()
    with pytest.raises(SendError) as caught:
        await asyncio.wait_for(transport.send(queued), 2)
    assert caught.value.retryable
    assert time.perf_counter() - t0 < 1.0, "send must fail fast while disconnected"

    await asyncio.to_thread(service.restart)
    await collector.wait(TransportStatus, lambda s: s.kind == "reconnected", start=start, timeout=20)
    assert transport.connected

    said_start = len(service.bot_said)
    await transport.send(queued)  # what the outbox does with the message it kept
    await service.await_bot_said(lambda s: s["text"] == queued.text, start=said_start)
    msg = await say_and_wait(service, collector, "恢复了吗")  # events flow again
    assert msg.group_name == TOPIC
    await transport.send(Outgoing(text="恢复了", group_id=ROOM))
    await service.await_bot_said(lambda s: s["text"] == "恢复了", start=said_start)
    assert service.said_texts(ROOM, start=said_start).count(queued.text) == 1


async def test_waits_for_a_service_that_is_not_up_yet(
    mock_service_factory: Callable[..., MockService],
) -> None:
    """The SDK's own start() would exit the process here; the transport reports it and retries."""
    port = free_port()
    transport = WechatyTransport(f"127.0.0.1:{port}", "late-token", reconnect_initial=0.2, reconnect_max=0.5)
    collector = Collector()
    task = asyncio.create_task(transport.start(collector))
    try:
        error = await collector.wait(TransportStatus, lambda s: s.kind == "error")
        assert "cannot connect" in error.detail
        with pytest.raises(SendError) as caught:
            await transport.send(Outgoing(text="too early", group_id=ROOM))
        assert caught.value.retryable
        late = await asyncio.to_thread(mock_service_factory, port, "late-token")
        late.create_contact(BOT, "团购助手")
        late.login(BOT)
        await collector.wait(TransportStatus, lambda s: s.kind == "login", timeout=15)
        assert transport.connected
    finally:
        await transport.stop()
        await asyncio.wait_for(task, 15)
    assert not transport.connected


async def test_needs_endpoint_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WECHATY_PUPPET_SERVICE_ENDPOINT", raising=False)
    monkeypatch.delenv("WECHATY_PUPPET_SERVICE_TOKEN", raising=False)
    with pytest.raises(ValueError, match="endpoint and token"):
        WechatyTransport()
    monkeypatch.setenv("WECHATY_PUPPET_SERVICE_ENDPOINT", "127.0.0.1:9")
    monkeypatch.setenv("WECHATY_PUPPET_SERVICE_TOKEN", "t")
    transport = WechatyTransport()
    assert (transport.endpoint, transport.token) == ("127.0.0.1:9", "t")
