"""The local chat simulator: its line syntax, and a scripted run through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.events import GroupMessage, MemberJoined, MemberLeft, PrivateMessage
from bot.transports.simulator import LineParser, SimulatorSyntaxError
from tests.fakes import FakeClock

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def parser() -> LineParser:
    return LineParser(FakeClock(), {"团购小助手", "tuanbot"})


def test_group_message_with_display_name_and_mentions(parser: LineParser) -> None:
    event = parser.parse("alice(张三)@团购一群: @bob 你好 @团购小助手\n").event
    assert isinstance(event, GroupMessage)
    assert (event.group_id, event.sender.id, event.sender.name) == ("团购一群", "alice", "张三")
    assert event.text == "@bob 你好 @团购小助手"
    assert event.mentions == ("bob",) and event.mentions_bot
    # the display name sticks to the id for later lines
    later = parser.parse("alice@团购一群：全角冒号也行").event
    assert isinstance(later, GroupMessage) and later.sender.name == "张三" and later.text == "全角冒号也行"
    assert later.message_id != event.message_id


def test_join_leave_private_and_comments(parser: LineParser) -> None:
    join = parser.parse("+bob,carol(小C)@团购一群 by alice").event
    assert isinstance(join, MemberJoined)
    assert [m.id for m in join.members] == ["bob", "carol"] and join.members[1].name == "小C"
    assert join.inviter is not None and join.inviter.id == "alice"
    leave = parser.parse("-bob@团购一群").event
    assert isinstance(leave, MemberLeft) and leave.members[0].id == "bob"
    private = parser.parse("alice: /whoami").event
    assert isinstance(private, PrivateMessage) and private.text == "/whoami"
    assert parser.parse("# a comment").event is None
    assert parser.parse("   ").event is None
    assert parser.parse(":sleep 2.5").sleep == 2.5


def test_unreadable_line_says_the_accepted_forms(parser: LineParser) -> None:
    with pytest.raises(SimulatorSyntaxError, match="alice@团购一群: 你好"):
        parser.parse("no colon here")


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_scripted_help_through_cli_exits_cleanly(tmp_path: Path, loop: str) -> None:
    config = tmp_path / "config.yaml"
    shipped = (REPO / "config.yaml").read_text(encoding="utf-8")
    assert "event_loop: uvloop" in shipped
    config.write_text(
        shipped.replace("sqlite:///data/tuanbot.db", f"sqlite:///{tmp_path}/t.db").replace(
            "event_loop: uvloop", f"event_loop: {loop}"
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        input="alice@团购一群: /help\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[团购一群] 团购小助手: 📋 团购小助手 可用命令" in proc.stdout
    assert "/help [命令]" in proc.stdout
    log = (tmp_path / "data" / "logs" / "tuanbot.log").read_text(encoding="utf-8")
    assert f"event loop: {loop}" in log
