"""The matcher seam: a handler body runs only on its matcher's intent; the view is built once, lazily."""

from __future__ import annotations

from typing import Any

import pytest

from bot.events import Event
from bot.view import MessageView
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
    [(name, intent, view)] = matcher_probe.calls
    assert (name, intent) == ("grab", matcher_probe.Grab(count=1))
    assert isinstance(view, MessageView) and view.text == "抢抢"  # the app's view, built from memory
    assert result.handled_by == "tests.bot.matcher_probe.handle_grab"


async def test_the_apps_view_reads_memory_once_per_message(make_app: AppFactory, clock) -> None:
    app, _ = make_app([matcher_probe])
    view = app.services.view_of(group_message("  草莓券！！🍓", at=clock.now()))
    assert isinstance(view, MessageView)
    assert view.core == "草莓券" and view.core is view.core  # normalised once, then kept
    assert view.campaigns == () and view.in_group and not view.is_private
    assert view.service(type(app.services.outbox)) is None  # not a feature service: found by type only


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
