"""Issue 14: the welcome's first-message check runs only for a member seen leaving (a matcher).

`handle_first_message` sees every group message. Its matcher (`handlers.welcome.rejoin`)
answers from the leavers memory, which the feature's setup reads for all groups in one
query when the app is built: a member's chatter runs no welcome body and no statement, and
no group is read lazily. A member who left, in this run or an earlier one, and speaks again
is still welcomed once, as before. The app here has only the welcome feature, so
`result.ran` counts the welcome's bodies alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.schema import create_schema
from bot.storage.engine import make_engine
from bot.storage.tables import Membership
from handlers.welcome import chat
from handlers.welcome.feature import FEATURE
from handlers.welcome.leavers import ASK, Leavers
from handlers.welcome.service import WelcomeStore
from tests.bot.test_hot_path_no_db import LoopStatements
from tests.conftest import AppFactory
from tests.engagement.support import GROUP, say
from tests.factories import joined, left
from tests.fakes import FakeClock, FakeTransport

OTHER = "团购二群"


def welcome_only(make_app: AppFactory) -> tuple[App, FakeTransport]:
    return make_app([FEATURE])


def welcomes(transport: FakeTransport, group: str = GROUP) -> list[str]:
    return [m.text for m in transport.sent if m.group_id == group and m.kind == "welcome"]


async def test_chatter_runs_no_welcome_body_and_no_statement(make_app: AppFactory, clock: FakeClock) -> None:
    app, transport = welcome_only(make_app)
    await transport.inject(say(clock, "早", "alice"))
    await transport.inject(joined("ann", at=clock.now()))  # welcomed on the join
    await transport.inject(say(clock, "早", "bob"))
    await transport.inject(left("bob", at=clock.now()))
    await transport.inject(joined("bob", at=clock.now()))  # left, then a reported rejoin
    app.flush_inbound()
    leavers = app.services.get(Leavers)
    recorder = LoopStatements(app)
    recorder.recording = True
    try:
        for sender, group in [("alice", GROUP), ("ann", GROUP), ("bob", GROUP), ("dan", OTHER)]:
            clock.advance(60)
            result = await transport.inject(say(clock, "哈哈哈，今天天气真好", sender, group=group))
            assert result.ran == 0, sender  # the matcher said None: no body
    finally:
        recorder.recording = False
        recorder.close()
    assert recorder.seen == [], "\n".join(recorder.seen)
    assert leavers.complete and leavers.reads == 1  # the bulk read at build, no group read since
    assert len(welcomes(transport)) == 2  # ann's join and bob's, nothing more


async def test_a_member_who_left_in_an_earlier_run_is_welcomed_when_they_speak_again(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = welcome_only(make_app)
    await transport.inject(say(clock, "早", "bob", name="小B"))
    await transport.inject(say(clock, "早", "carl", group=OTHER))
    await transport.inject(say(clock, "早", "alice"))
    clock.advance(60)
    await transport.inject(left("bob", at=clock.now()))
    await transport.inject(left("carl", group=OTHER, at=clock.now()))
    app.flush_inbound()

    app2, transport2 = welcome_only(make_app)  # a restart: the leaves are rows, not memory
    leavers = app2.services.get(Leavers)
    assert leavers.complete and leavers.reads == 1
    assert leavers.candidate(GROUP, "bob") and leavers.candidate(OTHER, "carl")
    assert leavers.candidate(GROUP, "alice") is False
    clock.advance(3600)  # back in the groups; WeChat never reported the joins
    assert (await transport2.inject(say(clock, "大家好", "alice"))).ran == 0
    result = await transport2.inject(say(clock, "我又回来了", "bob", name="小B"))
    assert result.ran == 1 and result.handled_by == ""  # the check ran and stopped no one
    [text] = welcomes(transport2)
    assert "小B" in text
    await transport2.inject(say(clock, "我也回来了", "carl", group=OTHER))
    assert len(welcomes(transport2, OTHER)) == 1
    clock.advance(600)
    assert (await transport2.inject(say(clock, "再说一句", "bob", name="小B"))).ran == 0
    assert len(welcomes(transport2)) == 1
    assert leavers.reads == 1
    with app2.services.repo.engine.connect() as conn:
        row = conn.execute(
            Membership.__table__.select().where(  # type: ignore[attr-defined]
                Membership.member_id == "bob", Membership.group_id == GROUP
            )
        ).first()
    assert row is not None and row.welcomed_at is not None and row.left_at is None  # rejoin recorded


async def test_a_member_who_leaves_and_speaks_in_the_same_run_is_welcomed_once(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = welcome_only(make_app)
    await transport.inject(say(clock, "早", "bob", name="小B"))
    clock.advance(60)
    await transport.inject(left("bob", at=clock.now()))
    assert app.services.get(Leavers).candidate(GROUP, "bob")
    clock.advance(3600)
    assert (await transport.inject(say(clock, "我又回来了", "bob", name="小B"))).ran == 1
    [text] = welcomes(transport)
    assert "小B" in text
    assert (await transport.inject(say(clock, "再说一句", "bob", name="小B"))).ran == 0
    clock.advance(60)
    await transport.inject(left("bob", at=clock.now()))  # leaves again, after the welcome
    assert (await transport.inject(say(clock, "又回来了", "bob", name="小B"))).ran == 1  # checked again
    assert (await transport.inject(say(clock, "嗯", "bob", name="小B"))).ran == 0
    assert len(welcomes(transport)) == 1  # welcomed once, ever
    assert app.services.get(Leavers).reads == 1


async def test_a_group_over_the_bound_is_looked_up_member_by_member_and_still_welcomes(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = welcome_only(make_app)
    for n in range(4):
        await transport.inject(say(clock, "早", f"m{n}"))
    await transport.inject(left("m0", "m1", "m2", at=clock.now()))
    app.flush_inbound()
    app2, transport2 = welcome_only(make_app)
    leavers = Leavers(per_group=2)  # what setup does, with a smaller bound: 3 leavers > 2
    leavers.load(WelcomeStore(app2.services.repo.engine).all_rejoin_candidates(leavers.per_group + 1))
    app2.services.provide(leavers)
    assert leavers.groups[GROUP] is ASK and leavers.held == 0
    clock.advance(60)
    assert (await transport2.inject(say(clock, "早", "m3"))).ran == 1  # not listed: looked up once
    assert (await transport2.inject(say(clock, "早", "m3"))).ran == 0
    assert not welcomes(transport2)
    assert (await transport2.inject(say(clock, "我回来了", "m1"))).ran == 1
    assert len(welcomes(transport2)) == 1 and "m1" in welcomes(transport2)[0]


def test_the_bulk_read_is_one_query_bounded_per_group(db_url: str) -> None:
    engine = make_engine(db_url)
    create_schema(engine)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [
        {"group_id": g, "member_id": f"{g}-{n}", "first_seen_at": now, "left_at": now, "welcomed_at": None}
        for g, count in (("a", 5), ("b", 2))
        for n in range(count)
    ]
    rows.append(
        {
            "group_id": "b",
            "member_id": "gone-welcomed",
            "first_seen_at": now,
            "left_at": now,
            "welcomed_at": now,
        }
    )
    rows.append(
        {"group_id": "b", "member_id": "here", "first_seen_at": now, "left_at": None, "welcomed_at": None}
    )
    with engine.begin() as conn:
        conn.execute(Membership.__table__.insert(), rows)  # type: ignore[attr-defined]
    found = WelcomeStore(engine).all_rejoin_candidates(3)
    engine.dispose()
    by_group: dict[str, set[str]] = {}
    for group_id, member_id in found:
        by_group.setdefault(group_id, set()).add(member_id)
    assert len(by_group["a"]) == 3  # at most the bound a group
    assert by_group["b"] == {"b-0", "b-1"}  # welcomed or present members are no candidates


def test_the_complete_memory_follows_leaves_and_joins_within_its_bounds() -> None:
    leavers = Leavers(per_group=2, budget=3)
    leavers.load([("g1", "a"), ("g2", "b"), ("g2", "c"), ("g3", "x"), ("g3", "y"), ("g3", "z")])
    assert leavers.groups == {"g1": {"a"}, "g2": {"b", "c"}, "g3": ASK} and leavers.held == 3
    assert leavers.candidate("nowhere", "a") is False  # complete: an unlisted group has none
    assert leavers.candidate("g3", "anyone") is True  # over the bound: ask the database
    leavers.left("g4", "d")  # the budget is spent: g4 is asked, not listed
    assert leavers.groups["g4"] is ASK and leavers.held == 3
    leavers.settled("g1", "a")
    assert "g1" not in leavers.groups and leavers.held == 2
    leavers.left("g1", "e")
    leavers.left("g1", "e")  # twice is once
    assert leavers.candidate("g1", "e") and leavers.held == 3
    leavers.settled("g2", "b")
    leavers.left("g2", "f")
    leavers.left("g2", "h")  # a third candidate in g2: over per_group
    assert leavers.groups["g2"] is ASK and leavers.held == 1


async def test_without_the_features_setup_the_module_still_reads_lazily_and_welcomes(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app([chat])  # the bare module: no bulk read, the old lazy memory
    await transport.inject(say(clock, "早", "bob"))
    await transport.inject(left("bob", at=clock.now()))
    clock.advance(timedelta(hours=1).total_seconds())
    await transport.inject(say(clock, "我回来了", "bob"))
    assert len(welcomes(transport)) == 1
    assert not app.services.get(Leavers).complete
