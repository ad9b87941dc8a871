"""A full disk never takes the bot down (issue 12, fault 3).

The database lives on a small tmpfs that the test fills with ballast, so every write
fails with SQLITE_FULL ("database or disk is full") as on a full server. Before the
fix, a failing command queued its "command failed" notice into the outbox, that write
failed again, and the exception escaped `App.handle_event` (documented "never
raises"), ending the process.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import App
from bot.events import Event
from tests.conftest import make_config
from tests.diskfull import fill, free, small_disk
from tests.factories import group_message, joined, private_message
from tests.fakes import FakeClock, FakeTransport


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk") as where:
        yield where


@pytest.fixture
def bot_on_disk(tmp_path: Path, disk: Path, clock: FakeClock) -> tuple[App, FakeTransport]:
    config = make_config(tmp_path, db_url=f"sqlite:///{disk / 'tuanbot.db'}")
    app = App.build(config, clock=clock, rng=random.Random(7))
    return app, FakeTransport(app, clock)


def _assert_disk_really_full(app: App) -> None:
    with pytest.raises(Exception, match="full"), app.services.repo.engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (x TEXT)"))
        conn.execute(text("INSERT INTO probe VALUES (:x)"), {"x": "x" * 100_000})


EVENTS: dict[str, Callable[[datetime], Event]] = {
    "command": lambda at: group_message("/help", "alice", at=at),
    "unknown-command": lambda at: group_message("/nosuchcommand", "alice", at=at),
    "forbidden": lambda at: group_message("/leader add @bob", "alice", at=at),
    "chatter": lambda at: group_message("接龙 A1 2", "alice", at=at),
    "private": lambda at: private_message("我的订单", "alice", at=at),
    "join": lambda at: joined("newbie", at=at),
}


@pytest.mark.parametrize("kind", sorted(EVENTS))
async def test_a_full_disk_never_raises_out_of_the_inbound_path(
    bot_on_disk: tuple[App, FakeTransport], disk: Path, clock: FakeClock, kind: str
) -> None:
    app, _ = bot_on_disk
    fill(disk)
    _assert_disk_really_full(app)
    await app.handle_event(EVENTS[kind](clock.now()))  # must not raise


async def test_the_bot_serves_again_once_space_is_back(
    bot_on_disk: tuple[App, FakeTransport], disk: Path, clock: FakeClock
) -> None:
    app, transport = bot_on_disk
    fill(disk)
    await app.handle_event(group_message("/help", "alice", at=clock.now()))
    free(disk)
    clock.advance(5)
    await transport.inject(group_message("/help", "bob", at=clock.now()))
    assert any("/help" in t for t in transport.texts()), transport.texts()


async def test_admins_hear_once_that_storage_is_failing(
    bot_on_disk: tuple[App, FakeTransport], disk: Path, clock: FakeClock
) -> None:
    app, transport = bot_on_disk
    fill(disk)
    for n in range(3):
        clock.advance(1)
        await app.handle_event(group_message("/help", f"m{n}", at=clock.now()))
    app.flush_inbound()  # the inbound rows are written behind: let the failure happen while the disk is full
    free(disk)
    clock.advance(60)
    await transport.inject(group_message("/whoami", "alice", at=clock.now()))
    notices = transport.private_texts("admin")
    assert len([t for t in notices if "数据库写入失败" in t]) == 1, notices
    assert len([t for t in notices if "已恢复" in t]) == 1, notices


def test_the_real_bot_keeps_running_when_the_disk_fills_mid_session(tmp_path: Path) -> None:
    """`tuanbot run` with its database on a disk that fills while members chat: no exit 1.

    The disk fills after the first command (the ballast is written by this test while the
    bot waits on its input); the bot must go on reading chat and end normally at end of input.
    """
    import subprocess
    import sys
    import time

    from tests.test_cli_run import write_config

    with small_disk(tmp_path / "disk", size="64m") as where:  # room for the sample's start-up writes
        config = write_config(tmp_path, database={"url": f"sqlite:///{where / 'tuanbot.db'}"})
        out = (tmp_path / "stdout.txt").open("w+b")
        err = (tmp_path / "stderr.txt").open("w+b")  # files, not pipes: a full pipe would block the bot
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--drain-seconds", "5"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
        )
        try:
            assert bot.stdin is not None
            bot.stdin.write("alice@团购一群: /help\n".encode())
            bot.stdin.flush()
            deadline = time.monotonic() + 60
            while "可用命令" not in (tmp_path / "stdout.txt").read_text(encoding="utf-8", errors="replace"):
                assert time.monotonic() < deadline, "no reply while there was space"
                time.sleep(0.2)
            fill(where)
            for n in range(5):
                bot.stdin.write(f"m{n}@团购一群: /help\nm{n}@团购一群: 接龙 A1 2\n".encode())
            bot.stdin.close()
            code = bot.wait(timeout=120)
            assert code == 0, (tmp_path / "stderr.txt").read_text(encoding="utf-8", errors="replace")[-3000:]
        finally:
            bot.kill()
