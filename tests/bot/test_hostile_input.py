"""Property test: hostile and random chat never crashes dispatch, leaks a traceback, or gets rendered."""

from __future__ import annotations

import asyncio
import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.events import GroupMessage, Member, PrivateMessage
from handlers.features import FEATURES
from tests.bot import feature_probe
from tests.conftest import make_config
from tests.fakes import FakeClock, FakeTransport

HOSTILE = [
    "{{ 'x7' * 3 }}",
    "{% for x in range(10) %}x{% endfor %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{# comment #}",
    "'; DROP TABLE outbox; --",
    "1' OR '1'='1",
    "/leader add",
    "/leader add @",
    "/",
    "／",
    "/help " + "x" * 5000,
    "/ｈｅｌｐ ｛｛＇ｘ７＇＊３｝｝",
    "\u200b/help\u200b",
    "\x00\x01\x02\x1b[31m",
    "🍓🍊" * 300,
    "接龙 A1 ９９９９９９９９９９９９９９",
    "\u202e反转文字",
    "a" * 20000,
    "echo {{ 'x7' * 3 }}",
]

texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(min_size=0, max_size=300),
    st.text(alphabet=st.sampled_from(list("/／{}%#@接龙取消抢A1+×x２ 　\u200b\n\t'\";-")), max_size=60),
    st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE), st.text(max_size=50)),
)
names = st.one_of(
    st.sampled_from(["{{ 'x7' * 3 }}", "lily", "admin", "", "\u200b", "a" * 500]), st.text(max_size=40)
)
senders = st.sampled_from(["alice", "bob", "lily", "admin", "{{'x7' * 3}}", "x\u200b"])
batches = st.lists(st.tuples(texts, names, senders, st.booleans()), min_size=50, max_size=50)


def test_ten_thousand_hostile_inputs(tmp_path) -> None:
    clock = FakeClock()
    app = App.build(
        make_config(tmp_path), clock=clock, features=[*FEATURES, feature_probe], rng=random.Random(0)
    )
    transport = FakeTransport(app, clock)
    loop = asyncio.new_event_loop()
    ids = itertools.count()
    total = 0

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(batches)
    def feed(batch: list[tuple[str, str, str, bool]]) -> None:
        nonlocal total
        for text, name, sender, private in batch:
            member = Member(id=sender, name=name)
            event = (
                PrivateMessage(message_id=f"h{next(ids)}", sender=member, text=text, time=clock.now())
                if private
                else GroupMessage(
                    message_id=f"h{next(ids)}",
                    group_id="团购一群",
                    sender=member,
                    text=text,
                    time=clock.now(),
                )
            )
            result = loop.run_until_complete(transport.inject(event))
            total += 1
            # Only the deliberate probe handler may fail; nothing else may raise.
            assert set(result.failed) <= {"tests.bot.feature_probe.handle_first_raises"}, result.failed
        for message in transport.sent:
            assert "Traceback" not in message.text and "Error" not in message.text
            # A template rendered from member text would show x7x7x7 ({{ 'x7' * 3 }}); a number such as
            # 49 could be the bot's own (a moderation alert counts strikes), so the probe is not 7*7.
            assert "x7x7x7" not in message.text or "x7x7x7" in "".join(t for t, *_ in batch)
        transport.clear()

    try:
        feed()
    finally:
        loop.close()
    assert total >= 10_000


async def test_member_text_and_names_are_echoed_literally(make_app, clock) -> None:
    app, transport = make_app([*FEATURES, feature_probe])
    await transport.inject(
        GroupMessage(
            message_id="lit-1",
            group_id="团购一群",
            sender=Member(id="x", name="{{ 7*7 }}"),
            text="echo {% for i in range(3) %}{{ i }}{% endfor %}",
            time=clock.now(),
        )
    )
    assert transport.texts() == [
        "格式不对哦。用法：{{ 7*7 }}: echo {% for i in range(3) %}{{ i }}{% endfor %}"
    ]
