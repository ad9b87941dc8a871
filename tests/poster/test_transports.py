"""Pictures over the transports: the simulator prints and keeps the file's path; the wechaty adapter
sends it as the SDK's `FileBox.from_file(path)` through `puppet.message_send_file`."""

from __future__ import annotations

import base64
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.events import IMAGE_KIND, Outgoing
from bot.transports.base import SendError
from bot.transports.simulator import SimulatorTransport
from bot.transports.wechaty_connection import Connection
from bot.transports.wechaty_send import send_image
from tests.fakes import FakeClock

PNG = b"\x89PNG\r\n\x1a\nposter"
ROOM = "1@chatroom"


def simulator(lines: list[str]) -> SimulatorTransport:
    return SimulatorTransport(clock=FakeClock(), stream=io.StringIO(""), out=lines.append, prompt=False)


async def test_the_simulator_prints_the_path_keeps_the_file_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    poster = tmp_path / "data" / "posters" / "t1-abc.png"
    poster.parent.mkdir(parents=True)
    poster.write_bytes(PNG)
    monkeypatch.chdir(tmp_path)
    lines: list[str] = []
    sim = simulator(lines)
    await sim.send(Outgoing(text=str(poster), group_id="团购一群", kind=IMAGE_KIND))
    assert lines == [
        f"20:00:00 [团购一群] 团购小助手: [图片] {os.path.join('data', 'posters', 't1-abc.png')}"
    ]
    assert sim.images == [poster] and sim.sent[0].is_image
    assert poster.read_bytes() == PNG  # kept where the bot wrote it


async def test_the_simulator_refuses_a_picture_whose_file_is_gone(tmp_path: Path) -> None:
    sim = simulator([])
    with pytest.raises(SendError) as refused:
        await sim.send(Outgoing(text=str(tmp_path / "gone.png"), group_id="g", kind=IMAGE_KIND))
    assert not refused.value.retryable and sim.images == [] and sim.sent == []


@dataclass
class FilePuppet:
    files: list[tuple[str, Any]] = field(default_factory=list)

    async def message_send_file(self, conversation_id: str, file: Any) -> str:
        self.files.append((conversation_id, file))
        return "m1"


def connection(puppet: FilePuppet, *, logged_in: bool = True) -> Connection:
    conn = Connection(SimpleNamespace(puppet=puppet), scheduler=None)
    conn.logged_in = logged_in
    return conn


async def test_wechaty_sends_the_sdks_filebox_of_the_file(tmp_path: Path) -> None:
    from bot.transports.wechaty_adapter import _load_sdk  # the adapter's own SDK loading

    poster = tmp_path / "t1-abc.png"
    poster.write_bytes(PNG)
    puppet = FilePuppet()
    file_box = _load_sdk().FileBox.from_file
    await send_image(
        connection(puppet), Outgoing(text=str(poster), group_id=ROOM, kind=IMAGE_KIND), file_box, timeout=1
    )
    [(room, box)] = puppet.files
    assert room == ROOM and box.name == "t1-abc.png"
    sent = json.loads(box.to_json_str())  # what travels over gRPC
    assert base64.b64decode(sent["base64"]) == PNG


async def test_wechaty_image_failures_tell_the_outbox_what_to_do(tmp_path: Path) -> None:
    puppet = FilePuppet()
    poster = tmp_path / "p.png"
    poster.write_bytes(PNG)
    message = Outgoing(text=str(poster), group_id=ROOM, kind=IMAGE_KIND)

    def from_file(path: str) -> Any:
        with open(path, "rb") as handle:
            return handle.read()

    with pytest.raises(SendError) as offline:
        await send_image(connection(puppet, logged_in=False), message, from_file, timeout=1)
    assert offline.value.retryable  # kept queued until the account is back
    gone = Outgoing(text=str(tmp_path / "gone.png"), group_id=ROOM, kind=IMAGE_KIND)
    with pytest.raises(SendError) as missing:
        await send_image(connection(puppet), gone, from_file, timeout=1)
    assert not missing.value.retryable  # no retry will find it
    assert puppet.files == []
