"""Issue 14: the red-packet grab and the coupon keyword have matchers, so chatter runs neither body.

A real app (the shipped features, a real SQLite file) with the sample campaign live (its
coupon keyword 草莓券) and a leader's burst (keyword 抢) running. Chatter must run neither
handler body, hop to no worker thread and run no statement on the loop. The burst
keywords are in memory from `App.build` on: a burst started after build is matched at
once (before its announcement has left), and a burst of a previous run is matched after a
restart without any per-group read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.app import App
from bot.campaign.models import Campaign
from handlers.coupons.keywords import CampaignKeywords, CouponKeyword, match_coupon
from handlers.redpacket.chat import close_burst
from handlers.redpacket.keywords import LATE_GRACE, LiveBurst
from handlers.redpacket.lookup import match_grab
from handlers.redpacket.memory import memory_of
from handlers.redpacket.service import Burst, RedPacketStore
from tests.conftest import AppFactory
from tests.engagement.support import CAMPAIGN_ID, GROUP, OPENS_AT, say, with_campaign
from tests.fakes import FakeClock, FakeTransport

GRAB = "handlers.redpacket.chat.handle_grab"
COUPON = "handlers.coupons.chat.handle_coupon_keyword"
OTHER_GROUP = "团购二群"
CHATTER = [
    "哈哈哈哈，今天天气真好",
    "收到",
    "抢不抢得到啊哈哈",  # near the grab keyword
    "今天有草莓吗",  # near the coupon keyword
    "抢" * 40,  # the keyword, but too long to be a grab
]


def count_bodies(app: App) -> dict[str, int]:
    """Wrap the grab and coupon handler bodies in the app's router; the dict counts their runs."""
    calls = {GRAB: 0, COUPON: 0}
    router = app.services.router
    assert router is not None
    for specs in router.by_type.values():
        for spec in list(specs):
            if spec.name in calls:

                async def counted(msg: Any, ctx: Any, _func: Callable[..., Any] = spec.func) -> Any:
                    calls[ctx.spec.name] += 1
                    return await _func(msg, ctx)

                router.replace(spec, dataclasses.replace(spec, func=counted))
    return calls


@contextmanager
def statements(app: App) -> Iterator[list[tuple[bool, str]]]:
    """Every statement run on the app's engine meanwhile: (on the loop thread?, SQL)."""
    loop_thread = threading.get_ident()
    seen: list[tuple[bool, str]] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((threading.get_ident() == loop_thread, " ".join(statement.split())[:120]))

    engine = app.services.repo.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The functions sent to a worker thread with `asyncio.to_thread` meanwhile."""
    hops: list[str] = []
    real = asyncio.to_thread

    async def counting(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(asyncio, "to_thread", counting)
        yield hops


@pytest.fixture
async def live(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[App, FakeTransport]]:
    """The campaign live in the group (coupon 草莓券), a leader's burst (抢) announced, members seen."""
    app, transport = make_app()
    registry = with_campaign(app, tmp_path)
    clock.set(OPENS_AT)
    await registry.run_node(CAMPAIGN_ID, "open")
    await transport.inject(say(clock, "/redpacket 5 10 抢 10m", "lily"))
    for member in ("alice", "bob"):
        await transport.inject(say(clock, "大家好", member))
    app.flush_inbound()
    yield app, transport
    app.flush_inbound()


async def test_chatter_runs_neither_body_no_thread_hop_and_no_statement_on_the_loop(
    live: tuple[App, FakeTransport], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, transport = live
    calls = count_bodies(app)
    with statements(app) as seen, thread_hops(monkeypatch) as hops:
        for text in CHATTER:
            await app.handle_event(say(clock, text, "alice"))
            clock.advance(61)
    assert calls == {GRAB: 0, COUPON: 0}
    assert hops == []
    assert [sql for on_loop, sql in seen if on_loop] == []
    # the keywords themselves still run the bodies, and are served
    before = len(transport.sent)
    await transport.inject(say(clock, "抢", "alice"))
    await transport.inject(say(clock, "草莓券", "bob"))
    assert calls == {GRAB: 1, COUPON: 1}
    [burst] = RedPacketStore(app.services.repo.engine).recent(GROUP)
    assert [w.member_id for w in RedPacketStore(app.services.repo.engine).winners(burst.id)] == ["alice"]
    assert any(m.kind == "coupon" and "bob" in m.text for m in transport.sent[before:])


async def test_chatter_in_a_group_without_bursts_or_campaigns_runs_no_body(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    calls = count_bodies(app)
    for text in [*CHATTER, "抢", "草莓券"]:
        await transport.inject(say(clock, text, "alice", group=OTHER_GROUP))
    assert calls == {GRAB: 0, COUPON: 0}


async def test_a_burst_started_after_build_is_matched_before_its_announcement_leaves(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    probe = say(clock, "发财！", "a")
    assert match_grab(probe, app.services.view_of(probe)) is None
    await transport.inject(say(clock, "/redpacket 3 ¥9.99 发财 30s", "lily"), drain=False)
    intent = match_grab(probe, app.services.view_of(probe))  # the announcement is still queued
    assert isinstance(intent, LiveBurst) and intent.said == "发财" and intent.group_id == GROUP
    await app.services.outbox.drain()
    await transport.inject(say(clock, "发财", "a"))
    store = RedPacketStore(app.services.repo.engine)
    [burst] = store.recent(GROUP)
    assert [w.member_id for w in store.winners(burst.id)] == ["a"]


async def test_a_campaign_burst_is_matched_as_soon_as_its_node_has_run(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, _ = make_app()
    registry = with_campaign(app, tmp_path)
    clock.set(OPENS_AT - timedelta(minutes=10))
    grab = say(clock, "抢", "a")
    assert match_grab(grab, app.services.view_of(grab)) is None
    await registry.run_node(CAMPAIGN_ID, "redpacket-T-10m")
    assert match_grab(grab, app.services.view_of(grab)) is not None
    other = say(clock, "抢", "a", group="团购三群")  # a group the burst is not in
    assert match_grab(other, app.services.view_of(other)) is None


async def test_a_burst_of_a_previous_run_is_matched_with_no_per_group_read(
    make_app: AppFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 3 5 发财 5m", "lily"))
    await transport.inject(say(clock, "/redpacket 2 5 红包 1m", "mike", group=OTHER_GROUP))
    [ended] = RedPacketStore(app.services.repo.engine).recent(OTHER_GROUP)
    clock.advance(90)
    assert close_burst(app.services, ended.id)  # ended, but recently: "too late" still answers
    app.flush_inbound()

    reads: list[str] = []
    bulk: list[int] = []
    real_recent, real_live = RedPacketStore.recent, RedPacketStore.live

    def recent(self: RedPacketStore, group_id: str, limit: int = 5) -> list[Burst]:
        reads.append(group_id)
        return real_recent(self, group_id, limit)

    def live(self: RedPacketStore, ended_after: datetime) -> list[Burst]:
        bulk.append(1)
        return real_live(self, ended_after)

    monkeypatch.setattr(RedPacketStore, "recent", recent)
    monkeypatch.setattr(RedPacketStore, "live", live)
    app2, transport2 = make_app()  # a restart: the bursts are rows in the database
    assert bulk == [1]  # one query for every group, in App.build
    calls = count_bodies(app2)
    with statements(app2) as seen:
        probes = [say(clock, "发财", "a"), say(clock, "红包", "b", group=OTHER_GROUP)]
        intents = [match_grab(p, app2.services.view_of(p)) for p in probes]
        for text in CHATTER:
            await app2.handle_event(say(clock, text, "c"))
            await app2.handle_event(say(clock, text, "d", group=OTHER_GROUP))
    assert [i.said if i else None for i in intents] == ["发财", "红包"]
    assert intents[1] is not None and intents[1].status == "closed"
    assert [sql for on_loop, sql in seen if on_loop] == []
    assert reads == [] and calls == {GRAB: 0, COUPON: 0}
    await transport2.inject(say(clock, "发财", "a"))
    await transport2.inject(say(clock, "红包", "b", group=OTHER_GROUP))
    store = RedPacketStore(app2.services.repo.engine)
    assert [w.member_id for w in store.winners(store.recent(GROUP)[0].id)] == ["a"]
    assert "手慢了" in transport2.texts(OTHER_GROUP)[-1]
    app2.flush_inbound()


async def test_a_burst_ended_longer_ago_than_the_grace_is_not_loaded(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 3 5 发财 1m", "lily"))
    [burst] = RedPacketStore(app.services.repo.engine).recent(GROUP)
    clock.advance(61)
    assert close_burst(app.services, burst.id)
    clock.advance(LATE_GRACE.total_seconds() + 1)
    app.flush_inbound()
    app2, transport2 = make_app()
    assert len(memory_of(app2.services).bursts) == 0
    sent = len(transport2.sent)
    await transport2.inject(say(clock, "发财", "a"))
    assert len(transport2.sent) == sent  # ordinary chat again, as before the restart
    app2.flush_inbound()


async def test_coupon_keywords_are_normalised_once_per_campaign_load(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    real = CampaignKeywords.of

    def of(cls: type[CampaignKeywords], campaign: Campaign) -> CampaignKeywords:
        made.append(campaign.id)
        return real(campaign)

    monkeypatch.setattr(CampaignKeywords, "of", classmethod(of))
    app, transport = make_app()
    registry = with_campaign(app, tmp_path)
    probe = say(clock, " 草莓券！", "a")
    for _ in range(20):
        intent = match_coupon(probe, app.services.view_of(probe))
        assert isinstance(intent, CouponKeyword) and intent.coupon.id == "strawberry"
        chatter = say(clock, "今天有草莓吗", "a")
        assert match_coupon(chatter, app.services.view_of(chatter)) is None
    assert made == ["fruit-2026-12"]  # once, not per message
    path = tmp_path / "campaigns" / "sample.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("keyword: 草莓券", "keyword: 蓝莓券"), "utf-8")
    assert registry.load_file(path) == []
    assert match_coupon(probe, app.services.view_of(probe)) is None  # the reload's keywords, at once
    blue = say(clock, "蓝莓券", "a")
    assert match_coupon(blue, app.services.view_of(blue)) is not None
    assert made == ["fruit-2026-12", "fruit-2026-12"]
    await transport.inject(blue)
    assert any(m.kind == "coupon" for m in transport.sent)


async def test_a_coupon_keyword_outside_the_campaign_window_is_chatter(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, _ = make_app()
    with_campaign(app, tmp_path)
    calls = count_bodies(app)
    probe = say(clock, "草莓券", "a")
    assert match_coupon(probe, app.services.view_of(probe)) is not None
    clock.advance(timedelta(days=30).total_seconds())  # long after closing
    late = say(clock, "草莓券", "a")
    assert match_coupon(late, app.services.view_of(late)) is None
    await app.handle_event(late)
    assert calls == {GRAB: 0, COUPON: 0}
