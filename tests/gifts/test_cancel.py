"""What a cancellation does to a gift: `pass` moves it to the next member in line, `keep` leaves
it with nobody; the gift's points and coupon are taken back; one gift per member, ever; only
the listed products count (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from handlers.coupons.store import CouponStore
from handlers.gifts.figures import figures
from handlers.points.ledger import points_of
from tests.commerce.selling_kit import Shop, build_shop
from tests.fakes import FakeClock
from tests.gifts.kit import G1, G2, holders, text_with


async def sale(tmp_path: Path, clock: FakeClock, db_url: str, buyers: list[str], **replace: str) -> Shop:
    shop = build_shop(tmp_path, clock, text=text_with(**replace), db_url=db_url)
    await shop.open()
    for member in buyers:
        await shop.say("A1 1", member, G1)
    return shop


def figures_of(shop: Shop) -> dict[str, int]:
    return figures(shop.app.services.repo.engine, "t1", None)


def gift_coupons(shop: Shop, member: str) -> list[str]:
    return [c.status for c in CouponStore(shop.app.services.repo.engine).held("t1", "gift5", member)]


async def test_pass_moves_the_gift_to_the_first_member_in_line_and_takes_back_what_it_paid(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = await sale(tmp_path, clock, db_url, ["a", "b", "c", "d", "e"])
    ledger = points_of(shop.app.services)
    assert holders(shop) == {"a": 1, "b": 2, "c": 3}
    assert ledger.balance("b") == 20 and gift_coupons(shop, "b") == ["issued"]

    await shop.say("取消", "b", G1)

    assert holders(shop) == {"a": 1, "c": 3, "d": 2}  # d was first in line; e still waits
    assert ledger.balance("b") == 0 and gift_coupons(shop, "b") == ["consumed"]
    assert ledger.balance("d") == 20 and gift_coupons(shop, "d") == ["issued"]
    assert any("不再保留" in t and "顺延" in t for t in shop.transport.private_texts("b"))
    assert any("顺延给您" in t and "保温杯一个" in t for t in shop.transport.private_texts("d"))
    assert figures_of(shop) == {"gifts_given": 3, "gifts_passed": 1, "gifts_left": 0}

    await shop.say("A1 2", "b", G2)  # b orders again: one gift per member and campaign, ever
    assert "b" not in holders(shop)
    assert ledger.balance("b") == 0


async def test_cancelling_one_product_of_several_keeps_the_gift(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = await sale(tmp_path, clock, db_url, ["a"])
    await shop.say("A2 1", "a", G2)  # a second order, in another group
    await shop.say("取消", "a", G1)  # all of a's orders in 团购一群; the 团购二群 one stays
    assert holders(shop) == {"a": 1}
    assert points_of(shop.app.services).balance("a") == 20


async def test_a_member_in_line_who_cancels_everything_loses_their_place(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = await sale(tmp_path, clock, db_url, ["a", "b", "c", "d", "e"])
    await shop.say("取消", "d", G1)  # d was first in line
    await shop.say("取消", "a", G1)
    assert holders(shop) == {"b": 2, "c": 3, "e": 1}  # the gift skips d, who holds no order now
    await shop.say("A1 1", "d", G1)  # d orders again: back in line, behind everyone already there
    assert "d" not in holders(shop)


async def test_keep_gives_a_cancelled_gift_to_nobody(tmp_path: Path, clock: FakeClock, db_url: str) -> None:
    shop = await sale(tmp_path, clock, db_url, ["a", "b", "c", "d"], **{"on_cancel: pass": "on_cancel: keep"})
    await shop.say("取消", "b", G1)
    assert holders(shop) == {"a": 1, "c": 3}
    assert points_of(shop.app.services).balance("b") == 0
    assert not any("获赠" in t for t in shop.transport.private_texts("d"))
    texts = shop.transport.private_texts("b")
    assert any("不再保留" in t for t in texts) and not any("顺延" in t for t in texts)
    assert any("积分和未使用的优惠券一并收回" in t for t in texts)  # this gift came with both
    assert figures_of(shop) == {"gifts_given": 2, "gifts_passed": 0, "gifts_left": 0}
    await shop.say("A1 1", "e", G1)
    assert "e" not in holders(shop)


async def test_a_gift_without_points_or_coupon_takes_nothing_back(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(
        tmp_path, clock, text=text_with("gifts: {first: 3, gift: 保温杯一个, on_cancel: keep}\n")
    )
    await shop.open()
    for member in ("a", "b"):
        await shop.say("A1 1", member, G1)
    await shop.say("取消", "b", G1)
    texts = shop.transport.private_texts("b")
    assert any("不再保留" in t for t in texts) and not any("收回" in t for t in texts)


async def test_a_gift_freed_while_nobody_waits_goes_to_the_next_order(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = await sale(tmp_path, clock, db_url, ["a", "b", "c"])
    await shop.say("取消", "a", G1)
    assert holders(shop) == {"b": 2, "c": 3}
    assert figures_of(shop)["gifts_left"] == 1
    await shop.say("A2 1", "d", G2)
    assert holders(shop) == {"b": 2, "c": 3, "d": 1}
    assert figures_of(shop) == {"gifts_given": 3, "gifts_passed": 1, "gifts_left": 0}
    sold_out = [t for t in shop.texts(G2) if "已送完" in t]
    assert len(sold_out) == 1  # said once, when the third gift first went; not again


async def test_one_gift_per_member_whatever_they_order_where(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = build_shop(tmp_path, clock, text=text_with(), db_url=db_url)
    await shop.open()
    for member, group, text in [("a", G1, "A1 1"), ("a", G2, "A2 1"), ("a", G1, "A1 2"), ("b", G2, "A1 1")]:
        await shop.say(text, member, group)
    assert holders(shop) == {"a": 1, "b": 2}
    assert points_of(shop.app.services).awarded("gift", "t1") == {"a": 20, "b": 20}
    assert len([t for t in shop.transport.private_texts("a") if "获赠" in t]) == 1


async def test_only_orders_of_the_listed_products_count(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    text = text_with(**{"on_cancel: pass}": "on_cancel: pass, products: [A2]}"})
    shop = build_shop(tmp_path, clock, text=text, db_url=db_url)
    await shop.open()
    await shop.say("A1 3", "a", G1)  # not a counting product
    await shop.say("A2 1", "b", G1)
    await shop.say("A1 1 A2 1", "c", G2)  # one counting line is enough
    await shop.say("A2 1", "a", G1)  # a's first counting order
    assert holders(shop) == {"b": 1, "c": 2, "a": 3}
    await shop.say("取消 A1", "c", G2)  # c still holds A2: keeps the gift
    assert holders(shop)["c"] == 2
    await shop.say("取消 A2", "c", G2)
    assert "c" not in holders(shop)
