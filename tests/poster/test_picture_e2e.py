"""A picture over the wire: the wechaty adapter sends a poster file to a real puppet service
(npm PuppetServer + wechaty-puppet-mock, as in tests/e2e), which receives it as a message from
the bot in the room."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("wechaty_puppet", reason="the `wechaty` extra is not installed")

from bot.events import IMAGE_KIND, Event, Outgoing, TransportStatus
from bot.transports.base import SendError
from bot.transports.wechaty_adapter import WechatyTransport
from handlers.poster import render_poster
from tests.e2e.conftest import MockService, ensure_node_modules
from tests.poster.test_render import generated

pytestmark = [pytest.mark.e2e]

BOT, ALICE, ROOM = "bot-tuan", "wxid_alice", "30001@chatroom"


@pytest.fixture
def service() -> Iterator[MockService]:
    ensure_node_modules()
    svc = MockService.launch()
    try:
        svc.create_contact(BOT, "团购助手")
        svc.create_contact(ALICE, "Alice")
        svc.create_room(ROOM, "幸福小区团购群", [BOT, ALICE])
        svc.login(BOT)
        yield svc
    finally:
        svc.stop(kill=False)


async def test_a_poster_reaches_the_room_as_a_message_from_the_bot(
    service: MockService, tmp_path: Path
) -> None:
    poster = tmp_path / "t1-poster.png"
    poster.write_bytes(render_poster(generated(5)).png)
    transport = WechatyTransport(service.endpoint, service.token, connect_timeout=2.0, heartbeat_interval=0)
    events: list[Event] = []
    logged_in = asyncio.Event()

    async def sink(event: Event) -> None:
        events.append(event)
        if isinstance(event, TransportStatus) and event.kind == "login":
            logged_in.set()

    task = asyncio.create_task(transport.start(sink))
    try:
        await asyncio.wait_for(logged_in.wait(), 20)
        start = len(service.bot_said)
        await transport.send(Outgoing(text=str(poster), group_id=ROOM, kind=IMAGE_KIND))
        said = await service.await_bot_said(lambda s: s["room"] == ROOM, start=start)
        assert said["message_id"] and said["text"] != str(poster)  # a file, not its path as text
        with pytest.raises(SendError) as gone:
            await transport.send(Outgoing(text=str(tmp_path / "gone.png"), group_id=ROOM, kind=IMAGE_KIND))
        assert not gone.value.retryable
    finally:
        await transport.stop()
        await asyncio.wait_for(task, 15)
