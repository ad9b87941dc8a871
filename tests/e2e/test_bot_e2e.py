"""The whole bot on the wire: app + router + outbox + WechatyTransport against a real puppet service.

The npm `wechaty-puppet-service` serves `wechaty-puppet-mock`; members speak through the mock,
and the test asserts on the texts the mock room receives from the bot. The bot runs on a
clock 60 times faster than the wall clock, so its real pacing (3 s between posts to a group,
a 60 s window to combine welcomes) plays out in a test-friendly fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import App
from bot.events import Event, TransportStatus
from bot.router import DispatchResult
from bot.startup import install_features
from bot.transports.wechaty_adapter import WechatyTransport
from tests.conftest import make_config
from tests.e2e.conftest import MockService
from tests.fakes import ScaledClock

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
SPEED = 60.0
CAMPAIGN = """\
id: e2e-fruit
title: 端到端鲜果团
groups: ["30001@chatroom"]
opens_at: 2030-06-01 20:00
closes_at: 2030-06-02 20:00
products:
  - {code: A1, name: 丹东草莓, price: 59.90, stock: 10, limit_per_member: 3, unit: 盒}
countdowns: []
"""


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
    tmp = Path(tmp_path_factory.mktemp("e2e-bot"))
    (tmp / "campaigns").mkdir()
    (tmp / "campaigns" / "e2e.yaml").write_text(CAMPAIGN, encoding="utf-8")
    config = make_config(
        tmp,
        admins=[ADMIN],
        groups={ROOM: {"name": "幸福小区团购群", "leaders": [LEADER]}},
        transport="wechaty",
        wechaty={"endpoint": service.endpoint, "token": service.token},
    )
    clock = ScaledClock(anchor=datetime.now(UTC), speed=SPEED)
    app = App.build(config, clock=clock)
    install_features(app, persistent_jobs=True, watch=False)
    transport = WechatyTransport(
        service.endpoint,
        service.token,
        reconnect_initial=0.2,
        reconnect_max=1.0,
        heartbeat_interval=2.0,
        connect_timeout=2.0,
    )
    statuses: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
    handle = app.handle_event

    async def watching(event: Event) -> DispatchResult:
        """The app's own sink, noting transport statuses so the tests can wait on them."""
        if isinstance(event, TransportStatus):
            statuses[event.kind].set()
        return await handle(event)

    app.handle_event = watching  # type: ignore[method-assign]
    app.statuses = statuses  # type: ignore[attr-defined]
    task = asyncio.create_task(app.run(transport, drain_seconds=5))
    await asyncio.wait_for(statuses["login"].wait(), 30)
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


async def test_a_sale_over_the_wire(service: MockService, bot: App) -> None:
    """A member joins and is welcomed; the leader opens the sale; two members order; the 接龙 list returns."""
    start = len(service.bot_said)
    await asyncio.to_thread(service.add_member, ROOM, [NEWBIE], ALICE)
    welcome = await reply_after(service, start, "欢迎")
    assert "新人小王" in welcome and "感谢 Alice 的邀请" in welcome

    start = await say(service, LEADER, "/open e2e-fruit")
    opening = await reply_after(service, start, "丹东草莓")
    assert "端到端鲜果团" in opening
    start = await say(service, ALICE, "接龙 A1 2")
    await asyncio.to_thread(service.say, BOB, "A1+1", room_id=ROOM)
    listing = await service.await_bot_said(
        lambda s: s["room"] == ROOM and "接龙名单" in s["text"] and "Bob" in s["text"], WAIT, start=start
    )
    text = str(listing["text"])
    assert "1. Alice 丹东草莓×2" in text and "2. Bob 丹东草莓×1" in text
    # Rights come from the contact id: a member cannot close the sale.
    start = await say(service, BOB, "/close e2e-fruit")
    assert "仅限团长" in await reply_after(service, start, "/close")


async def test_queued_message_survives_an_outage_exactly_once(service: MockService, bot: App) -> None:
    await asyncio.to_thread(service.stop)  # the puppet service crashes
    transport = bot.transport
    assert transport is not None
    await asyncio.wait_for(bot.statuses["disconnected"].wait(), WAIT)  # type: ignore[attr-defined]
    assert not getattr(transport, "connected", True)
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
