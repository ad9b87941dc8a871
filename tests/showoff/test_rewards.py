"""晒单有礼 through chat: the first N buyers' pictures after closing are rewarded once each, told
privately, and thanked in one coalesced post per group; everything else gets nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from handlers.points.ledger import points_of
from handlers.showoff.chat import THANKS_WINDOW, store_of
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, build_shop
from tests.fakes import FakeClock
from tests.showoff.kit import TEXT, coupons_of, picture, restarted, sold_shop, text_with

HANDLER = "handlers.showoff.chat.handle_showoff"


def thanks_posts(texts: list[str]) -> list[str]:
    return [t for t in texts if "晒单有礼" in t]


async def test_the_first_n_buyers_are_rewarded_once_and_thanked_in_one_post(
    tmp_path: Path, clock: FakeClock
) -> None:
    buyers = {"alice": G1, "bob": G1, "carol": G1, "dave": G1, "erin": G2}
    shop = await sold_shop(tmp_path, clock, buyers)
    store = store_of(shop.app.services)

    first = await picture(shop, "alice", drain=False)
    assert first.handled_by == HANDLER
    await picture(shop, "alice", drain=False)  # a second picture: counted once
    await picture(shop, "mallory", drain=False)  # never ordered
    await shop.say("好吃！", "dave", drain=False)  # text is not a picture
    clock.advance(5)
    await picture(shop, "bob", drain=False)
    await picture(shop, "erin", G2, drain=False)  # ordered in the other group
    await picture(shop, "carol", drain=False)  # the fourth buyer: the three rewards are gone
    await shop.drain()

    assert store.ranks("t1") == {"alice": 1, "bob": 2, "erin": 3}
    assert store.counted("t1") == 4 and store.taken("t1") == 3
    ledger = points_of(shop.app.services)
    assert ledger.awarded("showoff", "t1") == {"alice": 30, "bob": 30, "erin": 30}
    assert [len(coupons_of(shop, m)) for m in ("alice", "bob", "erin", "carol", "dave")] == [1, 1, 1, 0, 0]

    told = shop.transport.private_texts("alice")
    assert len(told) == 1 and "第 1 位" in told[0] and coupons_of(shop, "alice")[0] in told[0]
    assert "30 积分" in told[0]
    for quiet in ("carol", "mallory", "dave"):
        assert shop.transport.private_texts(quiet) == []

    [g1] = thanks_posts(shop.texts(G1))  # one post for three pictures, not one each
    assert "a**" in g1 and "b**" in g1 and "alice" not in g1 and "c**" not in g1
    assert "2/3" in g1  # rewards taken when its last version was rendered (erin came after)
    [g2] = thanks_posts(shop.texts(G2))
    assert "e**" in g2 and "a**" not in g2 and "3/3" in g2
    assert len(shop.texts(G1)) == 1  # nothing else was said in the group: no refusals


async def test_a_picture_after_the_thanks_left_gets_a_new_post_with_everyone_so_far(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await sold_shop(tmp_path, clock, {"alice": G1, "bob": G1})
    await picture(shop, "alice")
    assert len(thanks_posts(shop.texts(G1))) == 1
    clock.advance(THANKS_WINDOW + 1)
    await picture(shop, "bob")
    posts = thanks_posts(shop.texts(G1))
    assert len(posts) == 2 and "a**" in posts[1] and "b**" in posts[1]


async def test_pictures_outside_the_window_and_before_closing_count_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock, text=TEXT)
    await shop.open()
    await shop.say("A1 1", "alice")
    during = await picture(shop, "alice")  # during the sale: not a 晒单 yet
    assert during.handled_by == ""
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    clock.set(CLOSES + timedelta(days=3))  # `until` (C+3d) is not included
    late = await picture(shop, "alice")
    assert late.handled_by == ""
    store = store_of(shop.app.services)
    assert store.counted("t1") == 0 and coupons_of(shop, "alice") == []
    assert thanks_posts(shop.texts(G1)) == []
    assert OPENS < CLOSES


async def test_a_restart_keeps_the_count_and_who_was_rewarded(tmp_path: Path, clock: FakeClock) -> None:
    text = text_with(2)
    shop = await sold_shop(tmp_path, clock, {"alice": G1, "bob": G1, "carol": G1}, text=text)
    await picture(shop, "alice")

    after = restarted(tmp_path, clock, text)
    await picture(after, "alice")  # counted before the restart: nothing again
    clock.advance(THANKS_WINDOW + 1)
    await picture(after, "bob")
    await picture(after, "carol")
    store = store_of(after.app.services)
    assert store.ranks("t1") == {"alice": 1, "bob": 2} and store.counted("t1") == 3
    assert len(coupons_of(after, "alice")) == 1 and after.transport.private_texts("alice") == []
    [post] = thanks_posts(after.texts(G1))
    assert "a**" in post and "b**" in post and "c**" not in post
