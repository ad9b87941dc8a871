"""Message kinds and removal in the transports: the simulator's syntax, the wechaty conversion."""

from __future__ import annotations

import io
from types import SimpleNamespace

from bot.events import GroupMessage, Outgoing
from bot.transports.simulator import LineParser, SimulatorTransport, shown
from bot.transports.wechaty_events import EventConverter
from bot.transports.wechaty_send import remove_from_room
from tests.bot.test_wechaty_parts import ALICE, BOT, ROOM, TEXT, fake_connection, message
from tests.fakes import FakeClock


def test_simulator_reads_links_cards_and_qr_codes() -> None:
    parser = LineParser(FakeClock(), {"团购小助手"})
    cases = {
        "alice@团购一群: [链接] 免费领 https://x.top/a": ("link", "免费领 https://x.top/a"),
        "alice@团购一群: [小程序] 某某商城": ("mini_program", "某某商城"),
        "alice@团购一群: [名片] 王总": ("contact_card", "王总"),
        "alice@团购一群: [二维码]": ("qr_image", ""),
        "alice@团购一群: [图片]": ("image", ""),
        "alice@团购一群: [哈哈] 你好": ("text", "[哈哈] 你好"),
    }
    for line, (kind, text) in cases.items():
        event = parser.parse(line).event
        assert isinstance(event, GroupMessage) and (event.kind, event.text) == (kind, text), line
    assert shown("link", "免费领 https://x.top/a") == "[链接] 免费领 https://x.top/a"


async def test_simulator_records_and_prints_removals() -> None:
    printed: list[str] = []
    sim = SimulatorTransport(clock=FakeClock(), stream=io.StringIO(""), out=printed.append, prompt=False)
    assert await sim.remove_member("团购一群", "bob")
    assert sim.removed == [("团购一群", "bob")] and "bob 移出了群聊" in printed[0]


class LinkPuppet:
    """The fake puppet, with the card payloads and removal of a puppet service."""

    def __init__(self, base) -> None:
        self.base = base
        self.deleted: list[tuple[str, str]] = []

    def __getattr__(self, name):
        return getattr(self.base, name)

    async def message_url(self, message_id: str):
        return SimpleNamespace(title="免费领鸡蛋", url="https://x.top/egg", description="")

    async def message_contact(self, message_id: str) -> str:
        return ALICE

    async def room_delete(self, room_id: str, contact_id: str) -> None:
        if contact_id == "owner":
            raise RuntimeError("only the owner can delete")
        self.deleted.append((room_id, contact_id))


async def test_wechaty_maps_links_and_cards_and_keeps_text_the_default() -> None:
    conn, base = fake_connection({BOT: "团购助手", ALICE: "Alice"}, {ROOM: "幸福小区"})
    puppet = LinkPuppet(base)
    conn.wechaty.puppet = puppet
    converter = EventConverter(TEXT, kinds={"url": "link", "contact": "contact_card"})
    await converter.convert(conn, "login", SimpleNamespace(contact_id=BOT))
    base.messages["u"] = message("u", ALICE, "<xml/>", ROOM, type="url")
    base.messages["c"] = message("c", ALICE, "", ROOM, type="contact")
    base.messages["v"] = message("v", ALICE, "", ROOM, type="video")  # not mapped: ignored
    base.messages["pu"] = message("pu", ALICE, "", "", type="url")  # privately: ignored
    [link] = await converter.convert(conn, "message", SimpleNamespace(message_id="u"))
    assert isinstance(link, GroupMessage) and (link.kind, link.text) == (
        "link",
        "免费领鸡蛋 https://x.top/egg",
    )
    [card] = await converter.convert(conn, "message", SimpleNamespace(message_id="c"))
    assert isinstance(card, GroupMessage) and (card.kind, card.text) == ("contact_card", "Alice")
    assert await converter.convert(conn, "message", SimpleNamespace(message_id="v")) == []
    assert await converter.convert(conn, "message", SimpleNamespace(message_id="pu")) == []
    assert await remove_from_room(conn, ROOM, ALICE, timeout=1)
    assert not await remove_from_room(conn, ROOM, "owner", timeout=1)  # WeChat refused: by hand
    assert puppet.deleted == [(ROOM, ALICE)]
    assert Outgoing(text="x", group_id=ROOM).kind == ""
