"""The wechaty adapter's parts that run without the SDK: event conversion and the send path.

Only `bot.transports.wechaty_adapter` imports `wechaty`; the parts get the SDK's objects handed in,
so here a small in-memory puppet stands in for the chat network (the wire itself is covered by
tests/e2e/test_wechaty_adapter.py against a real puppet service).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.events import GroupMessage, Member, Outgoing, PrivateMessage, TransportStatus
from bot.transports.base import SendError
from bot.transports.wechaty_connection import Connection, split_endpoint
from bot.transports.wechaty_events import EventConverter
from bot.transports.wechaty_send import AT_SEPARATOR, send_error, send_text

TEXT = "text"
BOT, ALICE, ROOM = "bot-1", "wxid_alice", "1@chatroom"


class FakeEntity:
    """A Contact/Room as the SDK gives it: a `_payload` filled by `ready()`."""

    def __init__(self, payload: Any) -> None:
        self._source = payload
        self._payload: Any = None

    async def ready(self) -> None:
        self._payload = self._source

    @property
    def name(self) -> str:
        return str(self._payload.name)

    @property
    def payload(self) -> Any:
        return self._payload


@dataclass
class FakePuppet:
    messages: dict[str, Any] = field(default_factory=dict)
    sent: list[tuple[str, str, list[str] | None]] = field(default_factory=list)

    async def message_payload(self, message_id: str) -> Any:
        return self.messages[message_id]

    async def message_send_text(self, conversation_id: str, text: str, mention_ids: list[str] | None) -> str:
        self.sent.append((conversation_id, text, mention_ids))
        return ""


def fake_connection(names: dict[str, str], topics: dict[str, str]) -> tuple[Connection, FakePuppet]:
    puppet = FakePuppet()
    wechaty = SimpleNamespace(
        puppet=puppet,
        Contact=SimpleNamespace(load=lambda cid: FakeEntity(SimpleNamespace(name=names[cid]))),
        Room=SimpleNamespace(load=lambda rid: FakeEntity(SimpleNamespace(topic=topics[rid]))),
    )
    return Connection(wechaty, scheduler=None), puppet


def message(message_id: str, talker: str, text: str, room: str = "", **extra: Any) -> Any:
    fields = {
        "from_id": talker,
        "type": TEXT,
        "text": text,
        "timestamp": 1_700_000_000,
        "room_id": room,
        "mention_ids": [],
    }
    return SimpleNamespace(message_id=message_id, **(fields | extra))


async def test_login_then_group_message_becomes_our_event() -> None:
    conn, puppet = fake_connection({BOT: "团购助手", ALICE: "Alice"}, {ROOM: "幸福小区"})
    converter = EventConverter(TEXT)
    [login] = await converter.convert(conn, "login", SimpleNamespace(contact_id=BOT))
    assert isinstance(login, TransportStatus) and login.kind == "login" and conn.logged_in
    puppet.messages["m1"] = message("m1", ALICE, "@团购助手 A1+1", ROOM)
    [msg] = await converter.convert(conn, "message", SimpleNamespace(message_id="m1"))
    assert isinstance(msg, GroupMessage)
    assert (msg.group_id, msg.sender, msg.group_name, msg.mentions_bot) == (
        ROOM,
        Member(ALICE, "Alice"),
        "幸福小区",
        True,
    )
    [again] = await converter.convert(conn, "login", SimpleNamespace(contact_id=BOT), reconnecting=True)
    assert isinstance(again, TransportStatus) and again.kind == "reconnected"


async def test_own_and_non_text_messages_are_dropped_and_private_ones_kept() -> None:
    conn, puppet = fake_connection({BOT: "团购助手", ALICE: "Alice"}, {})
    converter = EventConverter(TEXT)
    await converter.convert(conn, "login", SimpleNamespace(contact_id=BOT))
    puppet.messages["own"] = message("own", BOT, "开团啦", ROOM)
    puppet.messages["pic"] = message("pic", ALICE, "", ROOM, type="image")
    puppet.messages["dm"] = message("dm", ALICE, "/whoami")
    assert await converter.convert(conn, "message", SimpleNamespace(message_id="own")) == []
    assert await converter.convert(conn, "message", SimpleNamespace(message_id="pic")) == []
    [dm] = await converter.convert(conn, "message", SimpleNamespace(message_id="dm"))
    assert isinstance(dm, PrivateMessage) and dm.text == "/whoami"


async def test_send_prefixes_mentions_and_refuses_while_logged_out() -> None:
    conn, puppet = fake_connection({ALICE: "Alice"}, {})
    out = Outgoing(text="到货了", group_id=ROOM, mentions=(ALICE,))
    with pytest.raises(SendError) as refused:
        await send_text(conn, out, timeout=1)
    assert refused.value.retryable and puppet.sent == []
    conn.logged_in = True
    await send_text(conn, out, timeout=1)
    assert puppet.sent == [(ROOM, "@Alice 到货了", [ALICE])]
    with pytest.raises(SendError) as bad:
        await send_text(conn, Outgoing(text="x", group_id=ROOM, member_id=ALICE), timeout=1)
    assert not bad.value.retryable
    assert AT_SEPARATOR == "\u2005"


@pytest.mark.parametrize(
    ("exc", "retryable", "rate_limited"),
    [
        (RuntimeError("操作过于频繁"), True, True),
        (ConnectionResetError("reset"), True, False),
        (
            type("GRPCError", (Exception,), {"status": SimpleNamespace(name="RESOURCE_EXHAUSTED")})(),
            True,
            True,
        ),
        (RuntimeError("not logged in"), True, False),
        (ValueError("no such room"), False, False),
    ],
)
def test_send_errors_tell_the_outbox_what_to_do(exc: Exception, retryable: bool, rate_limited: bool) -> None:
    error = send_error(exc)
    assert (error.retryable, error.rate_limited) == (retryable, rate_limited)


def test_endpoint_must_be_host_and_port() -> None:
    assert split_endpoint("http://[::1]:8788/") == ("::1", 8788)
    with pytest.raises(ValueError):
        split_endpoint("localhost")


def test_only_the_adapter_imports_the_sdk() -> None:
    transports = Path(__file__).resolve().parents[2] / "bot" / "transports"
    importers = set()
    for path in transports.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(name.split(".")[0].startswith("wechaty") for name in names):
                importers.add(path.name)
    assert importers == {"wechaty_adapter.py"}
