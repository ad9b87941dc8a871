"""`/lottery` as leaders use it: rights by member id, usage and help, status and cancel, an empty
or too small pool, one lottery at a time, the pool rules and what a coupon prize needs."""

from __future__ import annotations

import hashlib
from pathlib import Path

from handlers.lottery.tables import CANCELLED, OPEN
from tests.commerce.selling_kit import CLOSES, G1, G2, build_shop
from tests.conftest import make_config
from tests.fakes import FakeClock
from tests.lottery.kit import HEX64, TEXT, lottery_of, published_draw, selling_shop


async def test_rights_are_by_member_id_a_member_renamed_as_the_leader_is_refused(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await selling_shop(tmp_path, clock)
    await shop.say("A1 1", "alice")
    shop.transport.clear()
    await shop.say("/lottery start 1 lucky", "eve", name="lily")  # eve calls herself lily
    await shop.say("/抽奖 start 1 lucky", "mike")  # mike leads 团购二群, not 团购一群
    assert lottery_of(shop) is None
    refusals = shop.texts(G1)
    assert len(refusals) == 2 and all("仅限团长使用" in t for t in refusals)
    await shop.say("/lottery start 1 lucky buyers t1", "admin", group=G2)  # an admin, in any group
    assert lottery_of(shop, G2) is not None and lottery_of(shop) is None
    await shop.say("/lottery draw", "eve", name="lily")
    assert lottery_of(shop, G2).status == OPEN  # type: ignore[union-attr]


async def test_bad_input_gets_the_usage_line_and_help_the_whole_text(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await selling_shop(tmp_path, clock)
    for bad in (
        "/lottery start",
        "/lottery start x lucky",
        "/lottery start 0 lucky",
        "/lottery start 101 lucky",
        "/lottery start 2 lucky everyone",
        "/lottery draw now",
        "/lottery spin",
    ):
        shop.transport.clear()
        await shop.say(bad, "lily")
        [reply] = shop.texts(G1)
        assert "用法" in reply and "/lottery start 名额 奖品" in reply, bad
    for asking in ("/lottery", "/lottery --help", "/help lottery"):
        shop.transport.clear()
        await shop.say(asking, "lily")
        [reply] = shop.texts(G1)
        assert "开奖承诺" in reply and "checkins" in reply and "cancel" in reply, asking
    shop.transport.clear()
    await shop.say("/lottery start 2 nosuch", "lily")
    [reply] = shop.texts(G1)
    assert "nosuch" in reply and "lucky" in reply and "berry" in reply
    assert lottery_of(shop) is None


async def test_an_empty_pool_or_fewer_entrants_than_winners_is_told_and_the_lottery_stays_open(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await selling_shop(tmp_path, clock)
    await shop.say("/lottery start 2 30积分", "lily")
    assert "目前 0 人符合" in shop.texts(G1)[-1]
    shop.transport.clear()
    await shop.say("/lottery draw", "lily")
    [reply] = shop.texts(G1)
    assert "还没有人" in reply and "没有开奖" in reply
    await shop.say("A1 1", "alice")
    shop.transport.clear()
    await shop.say("/lottery draw", "lily")
    [reply] = shop.texts(G1)
    assert "只有 1 人，少于 2 个" in reply
    assert lottery_of(shop).status == OPEN  # type: ignore[union-attr]
    await shop.say("A1 1", "bob")
    shop.transport.clear()
    await shop.say("/lottery draw", "lily")
    assert sorted(published_draw(shop.texts(G1)).winners) == [1, 2]


async def test_status_one_lottery_at_a_time_and_cancel_publishes_the_seed(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await selling_shop(tmp_path, clock)
    await shop.say("/lottery status", "lily")
    assert "没有进行中的抽奖" in shop.texts(G1)[-1]
    await shop.say("A1 1", "alice")
    await shop.say("/lottery start 1 lucky", "lily")
    [commitment] = HEX64.findall(shop.texts(G1)[-1])
    shop.transport.clear()
    await shop.say("/lottery start 1 10积分", "admin")  # one open lottery per group
    assert "已有一场抽奖进行中" in shop.texts(G1)[-1]
    await shop.say("A1 1", "bob")
    await shop.say("/lottery status", "lily")
    status = shop.texts(G1)[-1]
    assert "抽奖进行中" in status and "目前 2 人" in status and commitment in status
    shop.transport.clear()
    await shop.say("/lottery cancel", "lily")
    [cancelled] = shop.texts(G1)
    lottery = lottery_of(shop)
    assert lottery is not None and lottery.status == CANCELLED
    assert lottery.seed in cancelled and hashlib.sha256(lottery.seed.encode()).hexdigest() == commitment
    shop.transport.clear()
    await shop.say("/lottery draw", "lily")  # nothing open: no draw, nothing paid
    assert "开奖！" not in shop.texts(G1)[-1] and all("中奖" not in t for t in shop.transport.texts())
    await shop.say("/lottery cancel", "lily")
    assert "没有进行中的抽奖" in shop.texts(G1)[-1]
    await shop.say("/lottery start 1 lucky", "lily")  # a new one may start now
    assert lottery_of(shop).status == OPEN  # type: ignore[union-attr]


async def test_the_checkins_pool_numbers_members_by_their_first_checkin_in_the_group(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await selling_shop(tmp_path, clock)
    await shop.say("签到", "carol")
    await shop.say("签到", "alice")
    await shop.say("签到", "bob", group=G2)  # another group's check-in
    await shop.say("A1 1", "dave")  # a buyer who never checked in
    await shop.say("/lottery start 2 20积分 checkins", "lily")
    assert "签到" in shop.texts(G1)[-1] and "目前 2 人符合" in shop.texts(G1)[-1]
    shop.transport.clear()
    await shop.say("/lottery draw", "lily")
    seen = published_draw(shop.texts(G1))
    assert [name for _, name, _ in seen.entries] == ["carol", "alice"]


async def test_checkins_fall_back_to_buyers_when_nobody_can_check_in(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock, text=TEXT, config=make_config(tmp_path, points={"checkin": 0}))
    await shop.open()
    await shop.say("A1 1", "dave")
    await shop.say("/lottery start 1 lucky checkins", "lily")
    post = shop.texts(G1)[-1]
    assert "签到记录暂不可用，本次按下单成员抽奖" in post and "目前 1 人符合" in post
    assert lottery_of(shop).pool == "buyers"  # type: ignore[union-attr]


async def test_a_coupon_prize_needs_the_sale_not_closed(tmp_path: Path, clock: FakeClock) -> None:
    shop = await selling_shop(tmp_path, clock)
    await shop.say("A1 1", "alice")
    await shop.say("/lottery start 1 lucky", "lily")
    assert "结团前开奖" in shop.texts(G1)[-1]
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    shop.transport.clear()
    await shop.say("/lottery draw", "lily")
    [reply] = shop.texts(G1)
    assert "已经结团" in reply and "/lottery cancel" in reply
    assert lottery_of(shop).status == OPEN  # type: ignore[union-attr]
    await shop.say("/lottery cancel", "lily")
    await shop.say("/lottery start 1 lucky", "lily")
    assert "已经结团" in shop.texts(G1)[-1] and lottery_of(shop).status == CANCELLED  # type: ignore[union-attr]
    await shop.say("/lottery start 1 30积分", "lily")  # points are fine after the close
    await shop.say("/lottery draw", "lily")
    assert published_draw(shop.texts(G1)).winners == [1]
