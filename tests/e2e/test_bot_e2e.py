"""The whole bot on the wire: app + router + outbox + WechatyTransport against a real puppet service.

The npm `wechaty-puppet-service` serves `wechaty-puppet-mock`; members speak through the mock,
and the test asserts on the texts the mock room receives from the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import App
from bot.transports.wechaty_adapter import WechatyTransport
from tests.conftest import make_config
from tests.e2e.conftest import MockService

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

BOT, ADMIN, LEADER, ALICE, BOB, NEWBIE = (
    "bot-e2e",
    "wxid_admin",
    "wxid_leader",
    "wxid_alice",
    "wxid_bob",
    "wxid_new",
)
ROOM = "30001@chatroom"
WAIT = 15.0


@pytest.fixture(scope="module")
def service(mock_service_factory: Callable[..., MockService]) -> MockService:
    svc = mock_service_factory()
    for contact_id, name in [
        (BOT, "团购小助手"),
        (ADMIN, "运营"),
        (LEADER, "团长莉莉"),
        (ALICE, "Alice"),
        (BOB, "Bob"),
        (NEWBIE, "新人小王"),
    ]:
        svc.create_contact(contact_id, name)
    svc.create_room(ROOM, "幸福小区团购群", [BOT, ADMIN, LEADER, ALICE, BOB])
    svc.login(BOT)
    return svc


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(service: MockService, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    tmp = tmp_path_factory.mktemp("e2e-bot")
    config = make_config(
        Path(tmp),
        admins=[ADMIN],
        groups={ROOM: {"name": "幸福小区团购群", "leaders": [LEADER]}},
        transport="wechaty",
        wechaty={"endpoint": service.endpoint, "token": service.token},
        # Real pacing, shortened so the test is quick; the limits themselves are tested elsewhere.
        outbox={"group_interval_seconds": 0.2, "switch_pause_seconds": [0.0, 0.1]},
    )
    app = App.build(config)
    transport = WechatyTransport(
        service.endpoint,
        service.token,
        reconnect_initial=0.2,
        reconnect_max=1.0,
        heartbeat_interval=2.0,
        connect_timeout=2.0,
    )
    task = asyncio.create_task(app.run(transport, drain_seconds=5))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not transport.connected:
        assert loop.time() < deadline, "the bot did not log in"
        await asyncio.sleep(0.05)
    try:
        yield app
    finally:
        await transport.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, 15)


async def say(service: MockService, who: str, text: str) -> int:
    """A member speaks in the room; returns the bot_said index to wait from."""
    start = len(service.bot_said)
    await asyncio.to_thread(service.say, who, text, room_id=ROOM)
    return start


async def reply_after(service: MockService, start: int, needle: str) -> str:
    said = await service.await_bot_said(
        lambda s: s["room"] == ROOM and needle in s["text"], WAIT, start=start
    )
    return str(said["text"])


async def test_help_comes_back_through_the_wire(service: MockService, bot: App) -> None:
    start = await say(service, ALICE, "/help")
    text = await reply_after(service, start, "可用命令")
    assert "/help [命令]" in text and "/leader" not in text


async def test_leader_rights_come_from_contact_id(service: MockService, bot: App) -> None:
    start = await say(service, LEADER, "/whoami")
    assert "身份：团长" in await reply_after(service, start, "你的 id")
    start = await say(service, ALICE, "/campaign list")
    assert "仅限团长" in await reply_after(service, start, "/campaign")


async def test_queued_message_survives_an_outage_exactly_once(service: MockService, bot: App) -> None:
    await asyncio.to_thread(service.stop)  # the puppet service crashes
    transport = bot.transport
    assert transport is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while getattr(transport, "connected", True):
        assert loop.time() < deadline, "the outage was not noticed"
        await asyncio.sleep(0.05)
    # Something the bot says during the outage waits in the outbox instead of being lost.
    text = "📦 断线期间的库存播报"
    bot.services.outbox.enqueue(text, group_id=ROOM, kind="broadcast")
    start = len(service.bot_said)
    await asyncio.to_thread(service.restart)
    await service.await_bot_said(lambda s: s["text"] == text, 30, start=start)
    # Give a duplicate every chance to show up before counting.
    probe = await say(service, ALICE, "/whoami")
    await reply_after(service, probe, "你的 id")
    assert service.said_texts(ROOM, start=start).count(text) == 1


async def test_round_trip_latency_through_the_bot(service: MockService, bot: App) -> None:
    """Member message -> bot reply seen by the mock, through router and outbox (printed, not asserted)."""
    samples = []
    for _ in range(20):
        t0 = time.perf_counter()
        start = await say(service, BOB, "/whoami")
        await reply_after(service, start, "你的 id")
        samples.append((time.perf_counter() - t0) * 1000)
    print(
        f"bot round trip over {len(samples)}: median {statistics.median(samples):.1f} ms, max {max(samples):.1f} ms"
    )
    assert len(samples) == 20
