"""活跃之星: the score counts orders, 晒单 and leaders' marks, never chatter; the week is paid once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from handlers.points.ledger import points_of
from handlers.stars.figures import figures
from handlers.stars.jobs import CATCH_UP
from tests.commerce.selling_kit import CLOSES, G1, G2, build_shop
from tests.conftest import make_config
from tests.fakes import FakeClock
from tests.showoff.kit import TEXT as SHOWOFF_TEXT
from tests.showoff.kit import picture
from tests.stars.kit import STARS, TEXT, WEEK_END, decide, say, shop_with, stars_posts


async def test_chatter_earns_nothing_and_orders_win(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_with(tmp_path, clock)
    await shop.open()
    for i in range(40):  # the group's chattiest member buys nothing
        await say(shop, f"今天天气真好 {i}", "bob", name="话痨")
    await say(shop, "A1 1", "alice", name="爱丽丝")  # 3: below min_score 5
    await say(shop, "A1 1", "dave", name="大卫")
    await say(shop, "A2 1", "dave", name="大卫")  # 6
    await say(shop, "A1 1", "erin", G2, name="伊琳")
    await say(shop, "A1 1", "erin", G2, name="伊琳")
    await say(shop, "取消 A1", "erin", G2)  # cancelled orders count nothing: erin has 0
    shop.transport.clear()
    clock.set(WEEK_END)

    named = await decide(shop)

    assert [(n.group_id, [s.member_id for s in n.stars]) for n in named] == [(G1, ["dave"])]
    [post] = stars_posts(shop, G1)
    assert "大卫" in post and "50 积分" in post and "话痨" not in post and "爱丽丝" not in post
    assert "活跃值" not in post and "笔" not in post  # the star is named; their orders and score are not
    assert stars_posts(shop, G2) == []
    [sent] = [m for m in shop.transport.sent if m.group_id == G1 and "本周活跃之星" in m.text]
    assert sent.mentions == ("dave",)
    ledger = points_of(shop.app.services)
    assert ledger.balance("dave") == 50 and ledger.balance("bob") == 0 and ledger.balance("alice") == 0


async def test_the_week_is_paid_once_even_run_twice_and_after_a_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_with(tmp_path, clock, top=2)
    await shop.open()
    await say(shop, "A1 2", "dave", name="大卫")
    await say(shop, "A2 1", "dave", name="大卫")
    await say(shop, "A1 1", "carol", name="卡罗")
    await say(shop, "A2 1", "carol", name="卡罗")
    shop.transport.clear()
    clock.set(WEEK_END + timedelta(minutes=1))

    first = await decide(shop)
    again = await decide(shop)  # the same day's job run twice (a retry, a second trigger)
    assert [s.member_id for s in first[0].stars] == ["carol", "dave"]  # a tie: more orders, then id
    assert again == []
    assert len(stars_posts(shop, G1)) == 1

    restarted = shop_with(tmp_path, clock, top=2)  # a new process on the same database
    clock.advance(3600)
    assert await decide(restarted) == []
    assert stars_posts(restarted, G1) == []
    ledger = points_of(restarted.app.services)
    assert ledger.balance("dave") == 50 and ledger.balance("carol") == 50
    assert len([e for e in ledger.entries("dave") if e.reason == "star"]) == 1

    engine = restarted.app.services.repo.engine
    assert figures(engine, "t1", None) == {"stars_awarded": 2, "star_points": 100}
    assert figures(engine, "t1", [G2]) == {"stars_awarded": 0, "star_points": 0}
    assert figures(engine, "other", None) == {"stars_awarded": 0, "star_points": 0}


async def test_a_missed_announcement_catches_up_within_the_window_only(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_with(tmp_path, clock)
    await shop.open()
    await say(shop, "A1 1", "dave")
    await say(shop, "A2 1", "dave")
    clock.set(WEEK_END + CATCH_UP + timedelta(hours=1))  # the bot was down all that time
    assert await decide(shop) == []

    shop2 = shop_with(tmp_path / "again", clock)
    clock.set(WEEK_END - timedelta(days=1))
    await shop2.open()
    await say(shop2, "A1 1", "dave")
    await say(shop2, "A2 1", "dave")
    clock.set(WEEK_END + timedelta(days=1))  # Monday: Sunday's run was missed
    named = await decide(shop2)
    assert [s.member_id for s in named[0].stars] == ["dave"]


async def test_nobody_reaches_min_score_means_no_post(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_with(tmp_path, clock, min_score=100)
    await shop.open()
    await say(shop, "A1 1", "dave")
    shop.transport.clear()
    clock.set(WEEK_END)
    named = await decide(shop)
    assert [(n.group_id, n.stars) for n in named] == [(G1, [])]
    assert stars_posts(shop, G1) == [] and points_of(shop.app.services).balance("dave") == 0


async def test_off_means_no_star(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_with(tmp_path, clock, enabled=False)
    await shop.open()
    await say(shop, "A1 5", "dave")
    clock.set(WEEK_END)
    assert await decide(shop) == []


async def test_a_counted_showoff_picture_scores(tmp_path: Path, clock: FakeClock) -> None:
    config = make_config(tmp_path, stars={**STARS, "min_score": 8})
    shop = build_shop(tmp_path, clock, text=SHOWOFF_TEXT, config=config)
    await shop.open()
    await say(shop, "A1 1", "alice", name="爱丽丝")
    await say(shop, "A1 1", "bob", name="鲍勃")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    clock.advance(60)
    await picture(shop, "alice")  # a 晒单: 3 + 5
    await picture(shop, "alice")  # a second picture counts once
    await say(shop, "[图片]好看吗", "bob")  # text, not a picture
    shop.transport.clear()
    clock.set(WEEK_END)
    named = await decide(shop)
    assert [(s.member_id, s.score) for n in named for s in n.stars] == [("alice", 8)]


async def test_paid_once_on_postgresql_too(tmp_path: Path, clock: FakeClock, db_url: str) -> None:
    config = make_config(tmp_path, db_url=db_url, stars=STARS)
    shop = build_shop(tmp_path, clock, text=TEXT, config=config)
    await shop.open()
    await say(shop, "A1 1", "dave")
    await say(shop, "A2 1", "dave")
    clock.set(WEEK_END)
    first, second = await asyncio.gather(decide(shop), decide(shop))  # two runs at once
    assert sorted([len(first), len(second)]) == [0, 1]
    assert points_of(shop.app.services).balance("dave") == 50
    assert len(stars_posts(shop, G1)) == 1
