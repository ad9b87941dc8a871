"""签到: once a member per local day in any group, the streak ladder across midnights, answered
privately, and chatter earning nothing."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import App
from bot.config import StreakBonus
from handlers.points.checkin import CheckinStore, checkins_of, next_bonus, streak_bonus
from handlers.points.ledger import points_of
from tests.conftest import AppFactory, make_config
from tests.factories import group_message, private_message
from tests.fakes import FakeClock, FakeTransport

G1, G2 = "团购一群", "团购二群"
# Asia/Shanghai is UTC+8: local midnight is 16:00 UTC.
EVENING = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # 12月5日 20:00
LAST_MINUTE = datetime(2026, 12, 5, 15, 59, tzinfo=UTC)  # 12月5日 23:59
NEXT_DAY = datetime(2026, 12, 5, 16, 1, tzinfo=UTC)  # 12月6日 00:01


async def say(
    transport: FakeTransport, clock: FakeClock, text: str, sender: str = "alice", group: str = G1
) -> None:
    await transport.inject(group_message(text, sender, name=f"{sender}姐", group=group, at=clock.now()))


def group_posts(transport: FakeTransport) -> list[str]:
    return [m.text for m in transport.sent if m.group_id]


def checkin_refs(app: App, member_id: str) -> list[tuple[str, int]]:
    return [
        (e.ref, e.points)
        for e in reversed(points_of(app.services).entries(member_id, 50))
        if e.reason == "checkin"
    ]


async def test_a_checkin_pays_once_a_local_day_in_any_group_answered_privately(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    clock.set(EVENING)
    await say(transport, clock, "签到")
    [answer] = transport.private_texts("alice")
    assert (
        "签到成功" in answer and "+5 积分" in answer and "连续签到 1 天" in answer and "当前积分 5" in answer
    )
    assert "alice姐" in answer
    await say(transport, clock, "签到！")  # again, same group
    await say(transport, clock, "打卡", group=G2)  # again, another group
    clock.set(LAST_MINUTE)
    await say(transport, clock, "签到", group=G2)  # still the same local day
    assert len(transport.private_texts("alice")) == 1  # answered once, not for every repeat
    assert group_posts(transport) == []  # nothing in any group
    assert checkin_refs(app, "alice") == [("2026-12-05", 5)]

    clock.set(NEXT_DAY)  # past local midnight, though still 12月5日 in UTC
    await say(transport, clock, "打卡", group=G2)
    assert "连续签到 2 天" in transport.private_texts("alice")[-1]
    assert checkin_refs(app, "alice") == [("2026-12-05", 5), ("2026-12-06", 5)]
    assert points_of(app.services).balance("alice") == 10


async def test_the_streak_ladder_pays_its_days_and_a_missed_day_starts_again(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    paid = []
    for day in range(9):
        clock.set(EVENING + timedelta(days=day, hours=day % 3))  # any time of the evening
        await say(transport, clock, "签到")
        paid.append(checkin_refs(app, "alice")[-1][1])
    # default ladder: +5 on day 3, +20 on day 7, then again from day 8 on (day 10 is the next +5)
    assert paid == [5, 5, 10, 5, 5, 5, 25, 5, 5]
    assert "连续签到 9 天" in transport.private_texts("alice")[-1]
    assert "再连续签到 1 天可额外获得 5 积分" in transport.private_texts("alice")[-1]
    third = transport.private_texts("alice")[2]
    assert "+10 积分（含连续签到奖励 +5）" in third
    clock.set(EVENING + timedelta(days=10))  # day 10 missed
    await say(transport, clock, "签到")
    assert "连续签到 1 天" in transport.private_texts("alice")[-1]
    assert points_of(app.services).balance("alice") == sum(paid) + 5
    assert checkins_of(app.services).streak("alice", clock.now()) == 1


async def test_after_a_restart_a_repeat_is_told_once_and_paid_nothing(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    clock.set(EVENING)
    await say(transport, clock, "签到")
    again, again_transport = make_app()  # a new process on the same database
    await say(again_transport, clock, "签到", group=G2)
    await say(again_transport, clock, "签到", group=G2)
    [told] = again_transport.private_texts("alice")
    assert "今天已经签到过啦" in told and "当前积分 5" in told
    assert points_of(again.services).balance("alice") == 5


async def test_one_member_checking_in_from_two_groups_at_once_is_paid_once(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    clock.set(EVENING)
    events = [group_message("签到", "alice", group=g, at=clock.now()) for g in (G1, G2, G1)]
    await asyncio.gather(*(transport.inject(e, drain=False) for e in events))
    await app.services.outbox.drain()
    assert checkin_refs(app, "alice") == [("2026-12-05", 5)]
    assert len(transport.private_texts("alice")) == 1


def test_check_ins_of_one_member_from_many_threads_pay_once(make_app: AppFactory, clock: FakeClock) -> None:
    app, _ = make_app()
    store = checkins_of(app.services)
    with ThreadPoolExecutor(max_workers=8) as pool:
        done = list(pool.map(lambda g: store.check_in("alice", f"g{g}", EVENING), range(16)))
    assert sum(d.fresh for d in done) == 1
    assert {d.balance for d in done if not d.fresh} == {5} and points_of(app.services).balance("alice") == 5


async def test_chatter_and_near_misses_earn_nothing_and_get_no_answer(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    clock.set(EVENING)
    for text in (
        "早上好",
        "签到了吗大家",
        "今天忘记签到了怎么办",
        "签到签到签到签到签到签到签到",
        "积分怎么用",
    ):
        await say(transport, clock, text)
    assert transport.private_texts("alice") == []
    assert points_of(app.services).entries("alice") == []


async def test_checkin_is_off_at_zero_points_and_a_private_checkin_points_to_the_group(
    tmp_path: Path, make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app(cfg=make_config(tmp_path, points={"checkin": 0}))
    clock.set(EVENING)
    await say(transport, clock, "签到")
    assert transport.private_texts("alice") == [] and points_of(app.services).entries("alice") == []

    on, on_transport = make_app()
    await on_transport.inject(private_message("签到", "bob", at=clock.now()))
    [hint] = on_transport.private_texts("bob")
    assert "请在团购群里发送「签到」" in hint
    assert points_of(on.services).entries("bob") == []


def test_the_ladder_maths() -> None:
    ladder = [StreakBonus(day=3, points=5), StreakBonus(day=7, points=20)]
    assert [streak_bonus(s, ladder) for s in range(1, 16)] == [0, 0, 5, 0, 0, 0, 20, 0, 0, 5, 0, 0, 0, 20, 0]
    assert [next_bonus(s, ladder) for s in (1, 3, 6, 7, 8)] == [(2, 5), (4, 20), (1, 20), (3, 5), (2, 5)]
    assert streak_bonus(4, []) == 0 and next_bonus(4, []) == (0, 0)


def test_the_local_day_is_the_bots_timezone(make_app: AppFactory, clock: FakeClock, tmp_path: Path) -> None:
    app, _ = make_app(cfg=make_config(tmp_path, bot={"timezone": "Europe/Berlin"}))
    store: CheckinStore = checkins_of(app.services)
    # 23:30 UTC on 12月5日 is already 12月6日 00:30 in Berlin
    assert store.check_in("alice", G1, datetime(2026, 12, 5, 23, 30, tzinfo=UTC)).fresh
    assert not store.check_in("alice", G1, datetime(2026, 12, 6, 22, 59, tzinfo=UTC)).fresh  # 23:59 Berlin
    assert store.check_in("alice", G1, datetime(2026, 12, 6, 23, 0, tzinfo=UTC)).streak == 2
    assert [e.ref for e in points_of(app.services).entries("alice")] == ["2026-12-07", "2026-12-06"]
