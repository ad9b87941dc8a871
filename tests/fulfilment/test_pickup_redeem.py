"""核销: a clerk checks codes off privately, only at their own points, each code at most once."""

from __future__ import annotations

import threading
from pathlib import Path

from handlers.fulfilment.dues import member_due
from handlers.fulfilment.redeem import check_off
from tests.commerce.selling_kit import Shop, build_shop
from tests.fakes import FakeClock
from tests.fulfilment.pickup_kit import G1, G2, ON_PICKUP, closed_shop, codes, in_group, private


async def with_clerk(tmp_path: Path, clock: FakeClock, extra: str = "", db_url: str | None = None) -> Shop:
    shop = await closed_shop(tmp_path, clock, extra=extra, db_url=db_url)
    await in_group(shop, "/clerk add @阿东 东门", "lily", mentions=("dong",))
    return shop


async def test_clerk_checks_off_a_bare_code_once(tmp_path: Path, clock: FakeClock) -> None:
    shop = await with_clerk(tmp_path, clock)
    code = codes(shop)["a"].code
    group_before = shop.texts(G1) + shop.texts(G2)
    [answer] = await private(shop, code.lower(), "dong")
    assert f"核销成功 {code}" in answer and "阿花" in answer and "丹东草莓×2" in answer
    assert "备注：3栋502" in answer  # the remark, to the clerk privately
    assert "应付" in answer and "未付清" in answer  # before_pickup, nobody marked it paid
    picked = codes(shop)["a"]
    assert picked.picked_at is not None and picked.picked_at <= clock.now() and picked.picked_by == "dong"
    assert any("货已在「东门菜鸟驿站」取走" in t for t in shop.transport.private_texts("a"))
    [again] = await private(shop, f"/pickup {code}", "dong")
    assert "已经核销过了" in again and "dong" in again and "12月5日 22:00" in again
    assert codes(shop)["a"].picked_at == picked.picked_at
    assert shop.texts(G1) + shop.texts(G2) == group_before  # nothing of it in a group


async def test_clerk_cannot_use_another_points_code(tmp_path: Path, clock: FakeClock) -> None:
    shop = await with_clerk(tmp_path, clock)
    code = codes(shop)["b"].code  # 小白 picks up at 南区
    [answer] = await private(shop, code, "dong")
    assert "属于其他自提点" in answer and "小白" not in answer and "赣南脐橙" not in answer
    assert codes(shop)["b"].picked_at is None
    [unknown] = await private(shop, "/pickup ZZZZ", "dong")
    assert "不存在" in unknown
    [admin] = await private(shop, f"/pickup {code}", "admin")  # admins may check any point
    assert "核销成功" in admin and codes(shop)["b"].picked_by == "admin"


async def test_a_bare_code_from_a_non_clerk_is_not_a_pickup(tmp_path: Path, clock: FakeClock) -> None:
    shop = await with_clerk(tmp_path, clock)
    code = codes(shop)["a"].code
    answers = await private(shop, code, "a")  # the member themself
    assert not any("核销" in t for t in answers)
    [refused] = await private(shop, f"/pickup {code}", "b")
    assert "你还不是核销员" in refused
    assert codes(shop)["a"].picked_at is None


async def test_pickup_in_a_group_checks_nothing_off(tmp_path: Path, clock: FakeClock) -> None:
    shop = await with_clerk(tmp_path, clock)
    code = codes(shop)["a"].code
    await in_group(shop, f"/pickup {code}", "dong")
    assert codes(shop)["a"].picked_at is None
    assert "请私聊我核销" in shop.transport.private_texts("dong")[-1]


async def test_payment_on_pickup_is_recorded_with_the_pickup(tmp_path: Path, clock: FakeClock) -> None:
    shop = await with_clerk(tmp_path, clock, extra=ON_PICKUP)
    services = shop.app.services
    campaign = shop.registry.campaigns["t1"].campaign
    due = member_due(services, campaign, "a")
    assert due is not None and not due.paid
    [answer] = await private(shop, codes(shop)["a"].code, "dong")
    assert f"请收款 ¥{due.owed_cents / 100:.2f}" in answer
    after = member_due(services, campaign, "a")
    assert after is not None and after.paid and after.paid_cents == due.net_cents


async def test_pickups_lists_what_waits_at_the_clerks_point(tmp_path: Path, clock: FakeClock) -> None:
    shop = await with_clerk(tmp_path, clock)
    [before] = await private(shop, "/pickups", "dong")
    assert "东门菜鸟驿站：1 人未取" in before and "阿花" in before and "小白" not in before
    assert codes(shop)["a"].code not in before
    await private(shop, codes(shop)["a"].code, "dong")
    [after] = await private(shop, "/pickups", "dong")
    assert "没有待取的货" in after
    [leader] = await private(shop, "/pickups 南区", "lily")
    assert "南区便利店：1 人未取" in leader and "小白" in leader
    [nobody] = await private(shop, "/pickups", "b")
    assert "你还不是核销员" in nobody


async def race(tmp_path: Path, clock: FakeClock, db_url: str | None) -> None:
    shop = await with_clerk(tmp_path, clock, extra=ON_PICKUP, db_url=db_url)
    await in_group(shop, "/clerk add @阿西 东门", "lily", mentions=("xi",))
    services = shop.app.services
    code = codes(shop)["a"].code
    points = {"东门菜鸟驿站"}
    start = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(clerk: str) -> None:
        start.wait()
        checked = check_off(services, code, clerk, clerk, points)
        with lock:
            outcomes.append(checked.outcome)

    threads = [threading.Thread(target=attempt, args=("dong" if i % 2 else "xi",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["used"] * 7
    picked = codes(shop)["a"]
    assert picked.picked_at is not None and picked.picked_by in {"dong", "xi"}
    due = member_due(services, shop.registry.campaigns["t1"].campaign, "a")
    assert due is not None and due.paid


async def test_a_code_is_picked_up_at_most_once_under_concurrent_attempts(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    await race(tmp_path, clock, db_url)


async def test_a_code_with_no_point_chosen_is_handed_over_where_the_buyer_comes(
    tmp_path: Path, clock: FakeClock
) -> None:
    """小C never chose a point: the clerk at the point they walked to was told the code belonged to
    another point, and nobody could hand the goods over (session 38's second walk)."""
    shop = await with_clerk(tmp_path, clock)
    assert codes(shop)["c"].point == ""
    [answer] = await private(shop, codes(shop)["c"].code, "dong")
    assert "核销成功" in answer and "小C" in answer
    assert codes(shop)["c"].picked_by == "dong"


async def test_an_unknown_pickup_point_gets_the_list_of_points(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    shop.transport.clear()
    await shop.say("自提 西门", "e", name="小E")
    [reply] = shop.texts(G1)
    assert "东门菜鸟驿站" in reply and "南区便利店" in reply and "西门" not in reply  # nothing echoed
    shop.transport.clear()
    await shop.say("自提点在哪里？", "e", name="小E")  # a question stays the FAQ's
    await shop.say("自提时间", "e", name="小E")
    assert not any("可选" in t for t in shop.texts(G1))
