"""Bytes on the simulator's stdin that are not UTF-8 (a pasted GBK line, a binary file)."""

from __future__ import annotations

import io

from bot.events import Event, GroupMessage
from bot.transports.simulator import SimulatorTransport


async def test_an_invalid_utf8_line_still_reaches_the_bot_with_a_replacement() -> None:
    raw = "alice@团购一群: 你好".encode() + b"\xff\n" + "bob@团购一群: /help\n".encode()
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
    transport = SimulatorTransport(stream=stream, out=lambda _: None, prompt=False)
    seen: list[Event] = []

    async def sink(event: Event) -> None:
        seen.append(event)

    await transport.start(sink)
    texts = [e.text for e in seen if isinstance(e, GroupMessage)]
    assert texts == ["你好\ufffd", "/help"]
