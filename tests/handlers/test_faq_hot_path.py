"""Issue 14: the question handler's matcher decides on the loop, from memory complete at start-up.

Chatter runs no FAQ handler body and no database statement; a leader's entry added in a
previous run is answered with no per-group read (every group's entries are read in one
statement while the app is built); questions are answered and logged as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.events import GroupMessage
from handlers.faq.chat import handle_question
from handlers.faq.feature import FEATURE as FAQ
from handlers.faq.intent import match_question
from handlers.faq.intents import UNDECIDED, Answer, Unanswered
from handlers.faq.matching import load_tokenizer
from handlers.faq.memory import FaqState
from handlers.features import FEATURES
from tests.bot.test_hot_path_no_db import LoopStatements
from tests.conftest import AppFactory
from tests.engagement.support import GROUP, say, with_campaign
from tests.fakes import FakeClock, FakeTransport

OTHER = "团购二群"
HANDLER = f"{handle_question.__module__}.{handle_question.__name__}"
CHATTER = ["哈哈哈哈，今天天气真好", "收到", "好的好的", "草莓好甜，孩子超爱吃", "有人知道明天停水吗", "收到"]


@pytest.fixture(autouse=True, scope="module")
def _dictionary() -> None:
    """jieba's dictionary, as the app's start-up hook loads it before the first message."""
    load_tokenizer()


class FaqReads:
    """Every statement on any engine that reads leaders' entries (the custom FAQ table), any thread."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "engagement_faq_custom" in statement and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append(" ".join(statement.split()))

    def close(self) -> None:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", self._record)


@pytest.fixture
def faq_reads() -> Iterator[FaqReads]:
    reads = FaqReads()
    yield reads
    reads.close()


def faq_only(make_app: AppFactory) -> tuple[App, FakeTransport]:
    """An app whose only chat handlers are the FAQ's, so `result.ran` counts the FAQ bodies only
    (the other features keep their services and timeline node kinds, so a campaign loads)."""
    return make_app([f if f is FAQ else dataclasses.replace(f, modules=()) for f in FEATURES])


async def test_chatter_runs_no_faq_body_and_no_statement_on_the_loop(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, transport = faq_only(make_app)
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "早上好", "alice"))  # the member is known: the common case
    app.flush_inbound()
    recorder = LoopStatements(app)
    try:
        recorder.recording = True
        ran = []
        for text in CHATTER:
            ran.append((await app.handle_event(say(clock, text, "alice"))).ran)
            clock.advance(61)
        recorder.recording = False
    finally:
        recorder.close()
        app.flush_inbound()
    assert ran == [0] * len(CHATTER)
    assert recorder.seen == [], "\n".join(recorder.seen)
    assert transport.texts(GROUP) == []


async def test_with_every_feature_chatter_never_enters_the_question_body(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    specs = app.router.by_type[GroupMessage]
    [(index, spec)] = [(i, s) for i, s in enumerate(specs) if s.name == HANDLER]
    entered: list[str] = []
    body = spec.func

    async def counted(msg: GroupMessage, ctx: Any) -> bool:
        entered.append(msg.text)
        return await body(msg, ctx)

    app.router.replace(spec, dataclasses.replace(spec, func=counted))  # this app's router only
    for text in CHATTER:
        await transport.inject(say(clock, text, "bob"))
        clock.advance(61)
    assert entered == []
    await transport.inject(say(clock, "请问明天几点可以去取货？", "bob"))
    assert entered == ["请问明天几点可以去取货？"]


async def test_questions_are_answered_and_logged_through_the_matcher(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, transport = faq_only(make_app)
    with_campaign(app, tmp_path)
    answered = await transport.inject(say(clock, "请问明天几点可以去取货？", "alice"))
    assert (answered.ran, answered.handled_by) == (1, HANDLER)
    [answer] = [m.text for m in transport.sent if m.kind == "faq"]
    assert "东门菜鸟驿站" in answer
    cooling = await transport.inject(say(clock, "在哪里提货？", "bob"))  # same answer within the minute
    assert (cooling.ran, cooling.handled_by) == (1, HANDLER) and len(transport.sent) == 1
    logged = await transport.inject(
        say(clock, "@团购小助手 你们的车是什么颜色", "carol", name="卡罗", mentions_bot=True)
    )
    assert (logged.ran, logged.handled_by) == (1, "")  # logged, not handled: as before
    await transport.inject(say(clock, "/faq unanswered", "lily"))
    [report] = transport.private_texts("lily")
    assert "你们的车是什么颜色" in report and "卡罗" in report and "@团购小助手" not in report


async def test_an_entry_added_in_a_previous_run_is_answered_with_no_per_group_read(
    make_app: AppFactory, clock: FakeClock, faq_reads: FaqReads
) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/faq add 周日下雨还能提货吗 | 照常提货，驿站有雨棚～", "lily"))
    await transport.inject(say(clock, "/faq add 能开发票吗 | 本群不开发票，敬请谅解。", "mike", group=OTHER))
    app.flush_inbound()
    faq_reads.seen.clear()
    app2, transport2 = make_app()  # a restart: the rows were in the database before App.build
    assert len(faq_reads.seen) == 1, faq_reads.seen  # every group's entries, in one statement
    faq_reads.seen.clear()
    await transport2.inject(say(clock, "周日下雨还可以提货吗？", "alice"))
    await transport2.inject(say(clock, "能开发票吗？", "bob", group=OTHER))
    await transport2.inject(say(clock, "能开发票吗？", "carol"))  # 团购一群 keeps the shipped answer
    assert faq_reads.seen == []
    faq = [(m.group_id, m.text) for m in transport2.sent if m.kind == "faq"]
    assert faq[:2] == [(GROUP, "💡 照常提货，驿站有雨棚～"), (OTHER, "💡 本群不开发票，敬请谅解。")]
    assert faq[2][0] == GROUP and "电子普通发票" in faq[2][1]


async def test_faq_add_and_del_keep_the_memory_current_without_reading_it_back(
    make_app: AppFactory, clock: FakeClock, faq_reads: FaqReads
) -> None:
    app, transport = make_app()
    state = app.services.get(FaqState)
    assert len(faq_reads.seen) == 1  # App.build's one read of every group's entries
    faq_reads.seen.clear()
    await transport.inject(say(clock, "/faq add 周日下雨还能提货吗 | 照常提货～", "lily"))
    await transport.inject(say(clock, "/faq add 停车方便吗 | 东门有车位", "lily"))
    assert [q for _, q, _ in state.custom[GROUP]] == ["周日下雨还能提货吗", "停车方便吗"]
    first, _ = state.custom[GROUP]
    await transport.inject(say(clock, f"/faq del {first[0]}", "lily"))
    assert [q for _, q, _ in state.custom[GROUP]] == ["停车方便吗"]
    await transport.inject(say(clock, "/faq del 999", "lily"))  # nothing removed: nothing changes
    assert [q for _, q, _ in state.custom[GROUP]] == ["停车方便吗"]
    assert faq_reads.seen == []
    assert OTHER not in state.custom


async def test_the_matcher_decides_from_memory_and_remembers_repeated_chatter(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, _ = faq_only(make_app)
    with_campaign(app, tmp_path)
    view_of = app.services.view_of
    chatter = say(clock, "收到", "alice")
    assert match_question(chatter, view_of(chatter)) is None
    assert match_question(chatter, None) is UNDECIDED  # no app view: the body decides, as before
    question = say(clock, "自提点在哪里呀", "alice")
    first = match_question(question, view_of(question))
    assert isinstance(first, Answer) and "东门菜鸟驿站" in first.item.answer
    assert match_question(question, view_of(question)) is first  # remembered, not scored again
    addressed = say(clock, "@团购小助手 榴莲什么时候上", "alice", mentions_bot=True)
    assert match_question(addressed, view_of(addressed)) == Unanswered("榴莲什么时候上")
    too_long = say(clock, "自提点在哪里呀" * 40, "alice")
    assert match_question(too_long, view_of(too_long)) is None
