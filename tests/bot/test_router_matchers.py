"""The matcher seam: a handler body runs only on its matcher's intent; the view is built once, lazily."""

from __future__ import annotations

from typing import Any

import pytest

from bot.events import Event
from tests.bot import matcher_probe
from tests.conftest import AppFactory
from tests.factories import group_message


@pytest.fixture(autouse=True)
def _reset() -> None:
    matcher_probe.calls.clear()
    matcher_probe.matched.clear()


async def test_the_body_runs_only_on_an_intent_and_receives_it(make_app: AppFactory, clock) -> None:
    app, transport = make_app([matcher_probe])
    result = await transport.inject(group_message("收到", at=clock.now()))
    assert matcher_probe.matched == ["收到"] and matcher_probe.calls == []
    assert result.ran == 0 and result.handled_by == ""
    result = await transport.inject(group_message("抢抢", at=clock.now()))
    assert matcher_probe.calls == [("grab", matcher_probe.Grab(count=1), None)]  # default view: None
    assert result.handled_by == "tests.bot.matcher_probe.handle_grab"


async def test_the_view_is_built_once_per_message_and_only_when_a_matcher_asks(
    make_app: AppFactory, clock
) -> None:
    app, transport = make_app([matcher_probe])
    built: list[str] = []

    def view_of(event: Event) -> Any:
        built.append(getattr(event, "text", ""))
        return {"live": True}

    app.services.view_of = view_of
    await transport.inject(group_message("/nosuch", at=clock.now()))  # commands reach no matcher
    assert built == []
    await transport.inject(group_message("please view", at=clock.now()))
    assert built == ["please view"]  # two matchers ran, one view
    assert matcher_probe.calls == [("view", "please view", {"live": True})]
