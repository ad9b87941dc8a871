"""Prizes are paid exactly once: a repeated draw, a restart between start and draw, a second
process drawing again, and a draw that fails half-way (nobody paid, the lottery still open)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

import handlers.lottery.actions as actions
from handlers.coupons.store import CouponStore
from handlers.lottery.tables import DRAWN, OPEN
from handlers.points.ledger import points_of
from tests.commerce.selling_kit import G1, G2, build_shop
from tests.fakes import FakeClock
from tests.lottery.kit import HEX64, TEXT, lottery_of, published_draw, restarted, selling_shop

MEMBERS = ["alice", "bob", "carol", "dave", "erin"]


def lottery_coupons(engine: Engine) -> list[tuple[str, str]]:
    store = CouponStore(engine)
    return [(m, c.code) for m in MEMBERS for c in store.held("t1", "lucky", m)]


async def test_a_restart_between_start_and_draw_keeps_the_seed_and_pays_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await selling_shop(tmp_path, clock)
    for member in MEMBERS:
        await shop.say("A1 1", member)
    await shop.say("/lottery start 2 lucky", "lily")
    [commitment] = HEX64.findall(shop.texts(G1)[-1])

    after = restarted(tmp_path, clock)  # the process dies; a new one starts on the same database
    await after.say("/lottery draw", "lily")
    seen = published_draw(after.texts(G1))
    assert hashlib.sha256(seen.seed.encode()).hexdigest() == commitment  # the seed drawn before the restart
    engine = after.app.services.repo.engine
    paid = lottery_coupons(engine)
    assert sorted(m for m, _ in paid) == sorted(MEMBERS[n - 1] for n in seen.winners)

    after.transport.clear()
    await after.say("/lottery draw", "lily")  # again: the result is shown, nothing is paid
    [again] = after.texts(G1)
    assert "已于" in again and seen.seed in again and "开奖！" not in again
    again_process = restarted(tmp_path, clock)
    await again_process.say("/lottery draw", "admin")  # and from yet another process
    assert lottery_coupons(engine) == paid
    assert sum("中奖" in t for m in MEMBERS for t in after.transport.private_texts(m)) == 0


async def test_points_prizes_are_credited_once(tmp_path: Path, clock: FakeClock) -> None:
    shop = await selling_shop(tmp_path, clock)
    for member in MEMBERS:
        await shop.say("A1 1", member)
    await shop.say("/lottery start 3 50积分", "lily")
    await shop.say("/lottery draw", "lily")
    seen = published_draw(shop.texts(G1))
    ledger = points_of(shop.app.services)
    balances = {m: ledger.balance(m) for m in MEMBERS}
    assert balances == {m: 50 if i + 1 in seen.winners else 0 for i, m in enumerate(MEMBERS)}
    for winner in (MEMBERS[n - 1] for n in seen.winners):
        [note] = [t for t in shop.transport.private_texts(winner) if "中奖" in t]
        assert "50 积分已到账" in note
    await shop.say("/lottery draw", "lily")
    after = restarted(tmp_path, clock)
    await after.say("/lottery draw", "lily")
    assert {m: points_of(after.app.services).balance(m) for m in MEMBERS} == balances


async def test_a_draw_that_fails_half_way_pays_nobody_and_can_be_drawn_again(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await selling_shop(tmp_path, clock)
    for member in MEMBERS:
        await shop.say("A1 1", member)
    await shop.say("/lottery start 3 lucky", "lily")
    real_pay = actions.pay_in
    calls: list[str] = []

    def failing_pay(*args: object, **kwargs: object) -> str:
        calls.append(str(kwargs["member_id"]))
        if len(calls) == 2:
            raise OSError("disk full")  # the second winner's payment fails
        return real_pay(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(actions, "pay_in", failing_pay)
    shop.transport.clear()
    await shop.say("/lottery draw", "lily")  # the handler fails; the router logs it
    engine = shop.app.services.repo.engine
    lottery = lottery_of(shop)
    assert lottery is not None and lottery.status == OPEN
    assert lottery_coupons(engine) == [] and shop.texts(G1) == []  # the first winner's coupon rolled back too

    monkeypatch.setattr(actions, "pay_in", real_pay)
    await shop.say("/lottery draw", "lily")
    seen = published_draw(shop.texts(G1))
    assert len(lottery_coupons(engine)) == 3 and lottery_of(shop).status == DRAWN  # type: ignore[union-attr]
    assert sorted(m for m, _ in lottery_coupons(engine)) == sorted(MEMBERS[n - 1] for n in seen.winners)


async def test_two_draws_at_once_pay_once_on_sqlite_and_postgresql(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = build_shop(tmp_path, clock, db_url=db_url, text=TEXT)
    await shop.open()
    for member in MEMBERS:
        await shop.say("A1 1", member)
    await shop.say("/lottery start 2 lucky", "lily")
    await shop.say("/lottery start 2 40积分", "admin", group=G2)
    await shop.say("A1 1", "zoe", group=G2)
    await shop.say("A1 1", "yan", group=G2)
    shop.transport.clear()
    await asyncio.gather(
        shop.say("/lottery draw", "lily", drain=False),
        shop.say("/lottery draw", "admin", drain=False),
        shop.say("/lottery draw", "mike", group=G2, drain=False),
        shop.say("/lottery draw", "admin", group=G2, drain=False),
    )
    await shop.drain()
    assert sum("开奖！" in t for t in shop.texts(G1)) == 1
    assert sum("开奖！" in t for t in shop.texts(G2)) == 1
    assert len(lottery_coupons(shop.app.services.repo.engine)) == 2
    ledger = points_of(shop.app.services)
    assert ledger.balance("zoe") == ledger.balance("yan") == 40
