"""Issue 14: the router's gates skip only handlers that would have skipped themselves.

`bot.gates` leaves a handler out of a message's walk when its pattern cannot match (one
search of every pattern combined) or when the message is not one of the words its matcher
acts on. The first tests pin the mechanism on hand-made handlers; the last holds every
shipped handler that declares `words` to its promise: whatever its matcher accepts, the
gate lets through.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.events import GroupMessage
from bot.gates import NOT_BUILT, Gates
from bot.handler import HandlerSpec
from bot.text import core
from bot.view import MessageView
from tests.conftest import AppFactory
from tests.engagement.support import say, with_campaign
from tests.fakes import FakeClock


async def _body(event: Any, ctx: Any) -> bool:
    return True


def _spec(name: str, priority: int, **fields: Any) -> HandlerSpec:
    return HandlerSpec(func=_body, event_type=GroupMessage, priority=priority, name=name, **fields)


class Views:
    """A stand-in for `Services.view_of`: counts the views built, each with the text's core."""

    def __init__(self) -> None:
        self.built = 0

    def view_of(self, event: Any) -> Any:
        self.built += 1
        return type("View", (), {"core": core(event.text)})()


def _accept(event: Any, view: Any) -> bool:
    return True


SPECS = [
    _spec("cancel", 10, pattern=re.compile(r"^\s*取消")),
    _spec("remark", 11, pattern=re.compile(r"^\s*备注")),
    _spec("checkin", 20, match=_accept, words=frozenset({"签到", "打卡"}), longest=12),
    _spec("shouting", 25, pattern=re.compile(r"help", re.IGNORECASE)),  # flags: never combined
    _spec("always", 30, match=_accept),
]


def _walk(text: str, views: Views | None = None) -> list[str]:
    views = views or Views()
    specs, _view = Gates(SPECS).walk(text, type("E", (), {"text": text})(), views)
    return [s.name for s in specs]


def test_chatter_walks_only_the_handlers_without_a_gate() -> None:
    assert _walk("收到，谢谢团长") == ["shouting", "always"]


def test_a_pattern_or_a_word_lets_its_handlers_through_in_priority_order() -> None:
    assert _walk("取消 A1") == ["cancel", "remark", "shouting", "always"]
    assert _walk("签到！🌸") == ["checkin", "shouting", "always"]
    assert _walk(" 备注 放门口") == ["cancel", "remark", "shouting", "always"]


def test_a_long_message_builds_no_view_and_skips_the_word_handlers() -> None:
    views = Views()
    text = "签到" + "啊" * 20
    assert _walk(text, views) == ["shouting", "always"]
    assert views.built == 0
    short = Views()
    specs, view = Gates(SPECS).walk("好的", type("E", (), {"text": "好的"})(), short)
    assert short.built == 1 and view is not NOT_BUILT  # built once, handed on to the matchers


def test_without_a_view_the_word_handlers_are_kept() -> None:
    class NoViews:
        def view_of(self, event: Any) -> None:
            return None

    specs, _ = Gates(SPECS).walk("收到", type("E", (), {"text": "收到"})(), NoViews())
    assert [s.name for s in specs] == ["checkin", "shouting", "always"]


def test_patterns_that_name_a_group_alike_are_searched_each_on_its_own() -> None:
    specs = [
        _spec("first", 1, pattern=re.compile(r"^(?P<code>A\d)")),
        _spec("second", 2, pattern=re.compile(r"(?P<code>B\d)$")),
        _spec("plain", 3, pattern=re.compile(r"^备注")),
    ]
    gates = Gates(specs)  # one alternation of all three would not compile
    for text, expected in (("A1 2", ["first", "second"]), ("收到", ["first", "second"])):
        walked, _ = gates.walk(text, type("E", (), {"text": text})(), Views())
        assert [s.name for s in walked] == expected
    walked, _ = gates.walk("备注 放门口", type("E", (), {"text": "备注 放门口"})(), Views())
    assert [s.name for s in walked] == ["first", "second", "plain"]


def test_words_without_a_matcher_or_a_length_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a matcher"):
        _spec("bad", 1, words=frozenset({"签到"}))
    with pytest.raises(ValueError, match="needs a matcher"):
        _spec("bad", 1, match=_accept, words=frozenset({"签到"}))


def test_every_shipped_word_gate_lets_through_whatever_its_matcher_accepts(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, _transport = make_app()
    with_campaign(app, tmp_path)
    gated = [s for specs in app.router.by_type.values() for s in specs if s.words]
    assert len(gated) >= 8  # points (4), tiers, stars, referral (2)
    words = sorted({w for s in gated for w in s.words})
    texts = [
        *words,
        *(f"{w}！！🌸" for w in words),
        *(f" {w} ?" for w in words),
        *(f"{w}{w}" for w in words),
        *(f"请问{w}怎么看" for w in words),
        *(w + "啊" * 20 for w in words),
        "收到",
        "签到打卡啦啦啦",
        "积分",
    ]
    accepted = 0
    for text in texts:
        event = say(clock, text)
        for spec in gated:
            assert spec.match is not None
            if spec.match(event, MessageView(app.services, event)) is not None:
                accepted += 1
                assert len(text) <= spec.longest and core(text) in spec.words, (spec.name, text)
    assert accepted >= 4 * 4  # the points words, each in several spellings, are accepted
