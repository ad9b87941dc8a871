"""我的积分: the balance, the streak and the latest entries, always privately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers.points.ledger import points_of
from tests.conftest import AppFactory, make_config
from tests.factories import group_message, private_message
from tests.fakes import FakeClock

G1 = "团购一群"
EVENING = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


async def test_my_points_in_a_group_is_answered_privately_with_balance_streak_and_entries(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    clock.set(EVENING)
    await transport.inject(group_message("签到", "alice", at=clock.now()))
    points_of(app.services).credit("alice", 88, "lottery", "draw-7", now=clock.now())
    points_of(app.services).debit("alice", 20, "redeem", "order-3", now=clock.now())
    await transport.inject(group_message("我的积分", "alice", name="王姐", at=clock.now()))
    answer = transport.private_texts("alice")[-1]
    assert "王姐 的积分：73" in answer and "已连续签到 1 天" in answer
    lines = [line for line in answer.splitlines() if line.startswith("· ")]
    assert [line.split()[-1] for line in lines] == ["-20", "+88", "+5"]  # newest first
    assert "积分抵扣" in lines[0] and "抽奖" in lines[1] and "签到" in lines[2]
    assert [m for m in transport.sent if m.group_id] == []  # not a word in the group


async def test_my_points_privately_for_a_newcomer_and_not_twice_in_a_row(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app()
    clock.set(EVENING)
    await transport.inject(private_message("查积分", "bob", at=clock.now()))
    [answer] = transport.private_texts("bob")
    assert "的积分：0" in answer and "还没有积分记录" in answer and "发「签到」每天可得 5 积分" in answer
    await transport.inject(private_message("我的积分？", "bob", at=clock.now()))
    assert len(transport.private_texts("bob")) == 1  # asked again at once: one answer is enough
    clock.set(EVENING + timedelta(minutes=1))
    await transport.inject(group_message("我的积分", "bob", at=clock.now()))
    assert len(transport.private_texts("bob")) == 2


async def test_points_switched_off_answer_nothing(
    tmp_path: Path, make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport = make_app(cfg=make_config(tmp_path, points={"enabled": False}))
    clock.set(EVENING)
    await transport.inject(group_message("签到", "alice", at=clock.now()))
    await transport.inject(group_message("我的积分", "alice", at=clock.now()))
    await transport.inject(private_message("我的积分", "alice", at=clock.now()))
    assert transport.private_texts("alice") == []
    assert points_of(app.services).entries("alice") == []  # the ledger is there for other features


async def test_a_check_in_then_my_points_are_answered_in_the_order_asked(
    make_app: AppFactory, clock: FakeClock
) -> None:
    """Both answers wait in the outbox together (a busy sale): the check-in's must not be overtaken by
    the balance it produced (`make run` showed 积分：5 before 签到成功)."""
    app, transport = make_app()
    clock.set(EVENING)
    await transport.inject(group_message("签到", "alice", at=clock.now()), drain=False)
    await transport.inject(group_message("我的积分", "alice", name="王姐", at=clock.now()), drain=False)
    await app.services.outbox.drain()
    first, second = transport.private_texts("alice")
    assert "签到成功" in first and "王姐 的积分：5" in second
