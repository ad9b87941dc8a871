"""`bot.event_loop`: the bot runs on uvloop where installed, on asyncio's own loop when asked."""

from __future__ import annotations

import asyncio

import pytest

from bot import event_loop
from bot.config import BotSettings


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_uvloop_by_default_asyncio_when_asked() -> None:
    assert BotSettings().event_loop == "uvloop"
    assert event_loop.run(_loop_module()) == "uvloop"
    assert event_loop.run(_loop_module(), "asyncio") == "asyncio"


def test_without_uvloop_the_bot_runs_on_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform uvloop does not build on (Windows): the standard loop, no error."""
    monkeypatch.setattr(event_loop.importlib.util, "find_spec", lambda name: None)
    assert event_loop.available("uvloop") == "asyncio"
    assert event_loop.run(_loop_module()) == "asyncio"


async def test_the_async_tests_run_on_the_bots_loop() -> None:
    """tests/conftest.py hands pytest-asyncio the bot's loop: the suite tests what ships."""
    assert await _loop_module() == event_loop.available()
