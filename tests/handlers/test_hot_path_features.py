"""Issue 14: welcome, FAQ, coupons and red packets answer the common message without a database
statement on the event-loop thread.

A real app with the shipped features (`handlers.features.FEATURES`), the sample campaign
open and a leader's red-packet burst running. A SQLAlchemy `before_cursor_execute`
listener records statements run on the loop thread with the innermost frames of our
code. Members are warmed with one message each (the common case: the bot has seen
them); then chatter, FAQ questions, a coupon-less message and non-grab chatter during
the burst must run nothing on the loop. Claims (a grab, a coupon keyword) do hit the
database, in a worker thread. Statements of other areas are listed in the failure text.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.app import App
from bot.campaign.runtime import CampaignRuntime
from handlers.redpacket.service import RedPacketStore
from handlers.welcome.leavers import Leavers
from handlers.welcome.service import WelcomeStore
from tests.conftest import AppFactory
from tests.engagement.support import CAMPAIGN_ID, GROUP, OPENS_AT, say, with_campaign
from tests.factories import left
from tests.fakes import FakeClock, FakeTransport

ROOT = str(Path(__file__).resolve().parents[2])
MEMBERS = ("alice", "bob", "carol", "dave")
OURS = ("handlers/welcome/", "handlers/faq/", "handlers/coupons/", "handlers/redpacket/")


class LoopStatements:
    """Statements executed on the thread that made the recorder (the event loop's), with our frames."""

    def __init__(self, app: App) -> None:
        self.engine = app.services.repo.engine
        self.loop_thread = threading.get_ident()
        self.seen: list[str] = []
        self.off_loop = 0
        self.recording = False
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self.recording:
            return
        if threading.get_ident() != self.loop_thread:
            self.off_loop += 1
            return
        ours = [
            f"{f.filename.removeprefix(ROOT + '/')}:{f.lineno} {f.name}"
            for f in traceback.extract_stack()
            if f.filename.startswith(ROOT) and "/.venv/" not in f.filename and "/tests/" not in f.filename
        ]
        self.seen.append(f"{' '.join(statement.split())[:100]}  <- {' <- '.join(reversed(ours[-4:]))}")

    def features(self) -> list[str]:
        """The statements whose stack passes through this test's features."""
        return [s for s in self.seen if any(part in s for part in OURS)]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
async def group(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[App, FakeTransport, CampaignRuntime]]:
    app, transport = make_app()
    registry = with_campaign(app, tmp_path)
    clock.set(OPENS_AT)
    await registry.run_node(CAMPAIGN_ID, "open")
    await transport.inject(say(clock, "/redpacket 5 10 抢 5m", "lily"))  # a burst, announced
    for member in MEMBERS:  # the bot has seen each member once: the common case
        await transport.inject(say(clock, "大家好", member))
    app.flush_inbound()
    clock.advance(120)  # past the FAQ cooldowns
    yield app, transport, registry
    app.flush_inbound()


async def _statements(app: App, clock: FakeClock, texts: list[tuple[str, str]]) -> LoopStatements:
    recorder = LoopStatements(app)
    try:
        recorder.recording = True
        for member, text in texts:
            await app.handle_event(say(clock, text, member))
            clock.advance(61)
        await app.services.settle()
        recorder.recording = False
    finally:
        recorder.close()
    return recorder


@pytest.mark.parametrize(
    ("texts", "answers"),
    [
        ([("alice", "哈哈哈哈，今天天气真好"), ("bob", "收到")], 0),  # chatter
        (
            [
                ("alice", "可以开发票吗，公司要报销"),
                ("bob", "请问明天几点可以去取货？"),
                ("carol", "几点发货"),
            ],
            2,
        ),
        ([("carol", "@团购小助手 你们的车是什么颜色？")], 0),  # nobody answers: logged behind
        ([("dave", "抢不抢得到啊哈哈"), ("dave", "今天有草莓吗")], None),  # near a grab, a coupon keyword
    ],
    ids=["chatter", "questions", "unanswered", "near-keywords"],
)
async def test_common_messages_run_no_statement_on_the_loop(
    group: tuple[App, FakeTransport, CampaignRuntime],
    clock: FakeClock,
    texts: list[tuple[str, str]],
    answers: int | None,
) -> None:
    app, transport, _ = group
    before = len(transport.sent)
    recorder = await _statements(app, clock, texts)
    assert recorder.features() == [], "\n".join(recorder.features())
    assert recorder.seen == [], "statements of other areas on the loop:\n" + "\n".join(recorder.seen)
    await app.services.outbox.drain()
    if answers is not None:
        assert len([m for m in transport.sent[before:] if m.kind == "faq"]) == answers
    assert not [m for m in transport.sent[before:] if m.kind in {"coupon", "redpacket"}]


async def test_the_unanswered_question_is_logged_behind_and_listed(
    group: tuple[App, FakeTransport, CampaignRuntime], clock: FakeClock
) -> None:
    app, transport, _ = group
    await app.handle_event(say(clock, "@团购小助手 你们的车是什么颜色？", "carol", mentions_bot=True))
    await transport.inject(say(clock, "/faq unanswered", "lily"))
    [report] = transport.private_texts("lily")
    assert "车是什么颜色" in report


async def test_a_grab_and_a_coupon_claim_hit_the_database_off_the_loop(
    group: tuple[App, FakeTransport, CampaignRuntime], clock: FakeClock
) -> None:
    app, transport, _ = group
    recorder = await _statements(app, clock, [("alice", "抢"), ("bob", "草莓券")])
    assert recorder.features() == [], "\n".join(recorder.features())
    assert recorder.off_loop > 0  # the claims ran, in worker threads
    [burst] = RedPacketStore(app.services.repo.engine).recent(GROUP, limit=1)
    assert [w.member_id for w in RedPacketStore(app.services.repo.engine).winners(burst.id)] == ["alice"]
    await app.services.outbox.drain()
    assert any("bob" in m.text for m in transport.sent if m.kind == "coupon")


async def test_after_a_restart_first_messages_read_each_group_once_off_the_loop(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    for n in range(5):
        await transport.inject(say(clock, "早", f"m{n}"))
    await transport.inject(left("m0", at=clock.now()))
    app.flush_inbound()
    app2, transport2 = make_app()  # a restart: nothing in memory
    with_campaign(app2, tmp_path)
    recorder = await _statements(app2, clock, [(f"m{n}", "我回来了") for n in range(1, 5)])
    assert recorder.features() == [], "\n".join(recorder.features())
    assert app2.services.get(Leavers).reads == 1  # one read for the group, not one per member
    assert not [m for m in transport2.sent if m.kind == "welcome"]
    await transport2.inject(say(clock, "我又回来了", "m0"))  # seen leaving: rejoined unreported
    assert [m for m in transport2.sent if m.kind == "welcome"]


async def test_a_group_with_too_many_leavers_asks_the_database_and_still_welcomes(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    for n in range(4):
        await transport.inject(say(clock, "早", f"m{n}"))
    await transport.inject(left("m0", "m1", "m2", at=clock.now()))
    app.flush_inbound()
    app2, transport2 = make_app()
    store = WelcomeStore(app2.services.repo.engine)
    leavers = app2.services.provide(Leavers(store.rejoin_candidates, per_group=2))  # 3 leavers > 2
    recorder = await _statements(app2, clock, [("m3", "早"), ("m1", "我回来了")])
    assert leavers.candidate(GROUP, "m3") is True  # not listed: every first message is looked up
    assert len([s for s in recorder.seen if "rejoined_unreported" in s]) == 2  # m3 and m1 looked up
    await app2.services.outbox.drain()
    [welcome] = [m.text for m in transport2.sent if m.kind == "welcome"]
    assert "m1" in welcome


async def test_evicted_groups_are_read_again_not_guessed(make_app: AppFactory, clock: FakeClock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "早", "ann"))
    await transport.inject(say(clock, "早", "ben", group="团购二群"))
    await transport.inject(left("ann", at=clock.now()))
    app.flush_inbound()
    app2, transport2 = make_app()
    store = WelcomeStore(app2.services.repo.engine)
    leavers = app2.services.provide(Leavers(store.rejoin_candidates, budget=2))  # room for one group
    await transport2.inject(say(clock, "早", "carl"))  # reads 团购一群: {ann}
    await transport2.inject(say(clock, "早", "ben", group="团购二群"))  # reads 团购二群, evicts 团购一群
    assert leavers.candidate(GROUP, "ann") is None  # forgotten, not "no"
    clock.advance(timedelta(hours=1).total_seconds())
    await transport2.inject(say(clock, "我回来了", "ann"))  # read again: ann left, so welcome
    assert leavers.reads == 3
    assert [m for m in transport2.sent if m.kind == "welcome" and "ann" in m.text]
