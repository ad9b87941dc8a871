"""限时返场 through the real app: the reopen and reopen-close nodes, 接龙 orders in between at the
返场 price with 买赠 gifts from the same stock, refusals before and after, a duplicate run that
repeats nothing, coupons settled at the 返场's close, and the figures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from handlers.selling.figures import figures
from handlers.selling.tables import REOPEN
from tests.commerce.selling_kit import CLOSES, G1, G2, Shop, build_shop, campaign_text
from tests.fakes import FakeClock

REOPEN_AT = CLOSES + timedelta(hours=1)
REOPEN_ENDS = REOPEN_AT + timedelta(hours=2)

SECTION = """\
reopen:
  at: C+1h
  window: 2h
  price: {A1: 8}
  buy_get: {buy: 2, get: 1}
  recommend: 草莓配脐橙，酸甜刚好
  recommend_products: [A2]
"""


def shop_with_reopen(
    tmp_path: Path, clock: FakeClock, section: str = SECTION, db_url: str | None = None, **kw: int
) -> Shop:
    return build_shop(tmp_path, clock, text=campaign_text(**kw) + section, db_url=db_url)


async def sale_then_close(shop: Shop) -> None:
    await shop.open()
    await shop.say("A1 2", "alice")  # 2 of 10 sold in the sale, at ¥10
    shop.clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()


async def reopen(shop: Shop) -> None:
    shop.clock.set(REOPEN_AT)
    await shop.registry.run_node("t1", "reopen")
    await shop.drain()


def active(shop: Shop) -> list[tuple[str, str, int, int]]:
    return sorted(
        (o.member_id, o.product_code, o.quantity, o.unit_price_cents) for o in shop.sell.store.orders("t1")
    )


async def test_orders_are_refused_before_the_reopen_sold_in_it_and_refused_after(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = shop_with_reopen(tmp_path, clock, db_url=db_url)
    await sale_then_close(shop)
    shop.clock.set(REOPEN_AT - timedelta(minutes=5))
    await shop.say("A1 2", "bob")  # closed, the 返场 has not begun
    await shop.sell.settle()
    assert active(shop) == [("alice", "A1", 2, 1000)]

    await reopen(shop)
    assert shop.sell.status("t1", G1) == REOPEN and shop.sell.status("t1", G2) == REOPEN
    post = next(t for t in shop.texts(G2) if "限时返场开始" in t)
    assert "返场价 ¥8.00（原价 ¥10.00）" in post and "剩8件" in post
    assert "买2赠1" in post and "草莓配脐橙" in post and "A2 赣南脐橙" in post

    await shop.say("A1 3", "bob", group=G2)  # limit 3: 3 paid, 1 free
    await shop.say("A1 2", "carol")  # 4 left: 2 paid, 1 free
    await shop.say("A1 2", "dave")  # 1 left: 1 paid, nothing free
    await shop.say("A1 1", "erin")  # sold out
    await shop.sell.settle()
    assert shop.stock("A1") == 0
    assert active(shop) == [
        ("alice", "A1", 2, 1000),
        ("bob", "A1", 1, 0),
        ("bob", "A1", 3, 800),
        ("carol", "A1", 1, 0),
        ("carol", "A1", 2, 800),
        ("dave", "A1", 1, 800),
    ]

    shop.clock.set(REOPEN_ENDS)
    await shop.registry.run_node("t1", "reopen-close")
    await shop.drain()
    assert shop.sell.status("t1", G1) == "closed"
    done = next(t for t in shop.texts(G1) if "限时返场已结束" in t)
    assert "本群返场 2 单，售出 3 件，赠送 1 件，成交额 ¥24.00" in done  # carol and dave in 团购一群
    assert figures(shop.app.services.repo.engine, "t1", None) == {
        "reopen_orders": 3,
        "reopen_units": 6,
        "reopen_free_units": 2,
        "reopen_gmv_cents": 4800,
    }
    assert figures(shop.app.services.repo.engine, "t1", [G2])["reopen_units"] == 3

    shop.clock.set(REOPEN_ENDS + timedelta(minutes=1))
    await shop.say("A2 1", "frank")
    await shop.sell.settle()
    assert not any(o.member_id == "frank" for o in shop.sell.store.orders("t1"))


async def test_a_duplicate_run_repeats_nothing_and_a_reopen_cancel_keeps_the_sale(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_with_reopen(tmp_path, clock)
    await sale_then_close(shop)
    await reopen(shop)
    posts = len([t for t in shop.texts(G1) if "限时返场开始" in t])
    await shop.registry.run_node("t1", "reopen")  # a retried job: the claim is taken
    await shop.drain()
    assert len([t for t in shop.texts(G1) if "限时返场开始" in t]) == posts == 1

    await shop.say("A1 2", "alice")  # she bought 2 in the sale; the limit (3) leaves 1
    await shop.say("取消 A1", "alice")  # cancels only the 返场's order
    await shop.sell.settle()
    assert active(shop) == [("alice", "A1", 2, 1000)]
    assert shop.stock("A1") == 8

    shop.clock.set(REOPEN_ENDS)
    await shop.registry.run_node("t1", "reopen-close")
    await shop.registry.run_node("t1", "reopen-close")
    await shop.drain()
    assert len([t for t in shop.texts(G1) if "限时返场已结束" in t]) == 1
    assert "本群返场没有新订单" in next(t for t in shop.texts(G1) if "限时返场已结束" in t)


async def test_nothing_left_means_no_reopen(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_with_reopen(tmp_path, clock, a1=2, a2=0)
    await sale_then_close(shop)  # alice took both A1
    await reopen(shop)
    assert shop.sell.status("t1", G1) == "closed"
    assert not any("限时返场" in t for t in shop.texts(G1))


async def test_a_percentage_price_and_a_group_closed_by_hand_during_the_reopen(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_with_reopen(tmp_path, clock, section="reopen:\n  at: C+1h\n  window: 2h\n  price: 50%\n")
    await sale_then_close(shop)
    await reopen(shop)
    await shop.say("A2 1", "bob", group=G2)
    await shop.say("/close", "lily")  # the leader ends 团购一群's 返场 now: its results at once
    await shop.drain()
    assert shop.sell.status("t1", G1) == "closed" and shop.sell.status("t1", G2) == REOPEN
    assert sum("限时返场已结束" in t for t in shop.texts(G1)) == 1
    await shop.say("A2 1", "carol")
    await shop.sell.settle()
    assert active(shop) == [("alice", "A1", 2, 1000), ("bob", "A2", 1, 1025)]
    shop.clock.set(REOPEN_ENDS)
    await shop.registry.run_node("t1", "reopen-close")
    await shop.drain()
    assert shop.sell.status("t1", G2) == "closed"
    assert sum("限时返场已结束" in t for t in shop.texts(G1)) == 1
    assert "本群返场 1 单，售出 1 件，成交额 ¥10.25" in next(
        t for t in shop.texts(G2) if "限时返场已结束" in t
    )


async def test_a_restart_during_the_reopen_keeps_selling_on_its_terms(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_with_reopen(tmp_path, clock)
    await sale_then_close(shop)
    await reopen(shop)
    after = shop_with_reopen(tmp_path, clock)  # a new process on the same database
    assert after.sell.status("t1", G1) == REOPEN
    await after.registry.run_node("t1", "reopen")  # the schedule runs it again on start: nothing
    await after.say("A1 2", "bob")
    await after.sell.settle()
    assert ("bob", "A1", 2, 800) in active(after) and ("bob", "A1", 1, 0) in active(after)
    after.clock.set(REOPEN_ENDS)
    await after.registry.run_node("t1", "reopen-close")
    await after.drain()
    assert "本群返场 1 单，售出 2 件，赠送 1 件，成交额 ¥16.00" in next(
        t for t in after.texts(G1) if "限时返场已结束" in t
    )


async def test_a_buyer_of_the_reopen_alone_gets_a_pickup_code_when_it_ends(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Fulfilment's close work also runs at the 返场's end: a member who bought only in the 返场
    gets their code then, privately; a buyer of the sale keeps the one code the close gave."""
    shop = shop_with_reopen(tmp_path, clock)
    await sale_then_close(shop)
    assert sum("取货码" in t for t in shop.transport.private_texts("alice")) == 1
    await reopen(shop)
    await shop.say("A1 1", "bob", group=G2)
    await shop.say("A1 1", "alice")
    await shop.sell.settle()
    assert not any("取货码" in t for t in shop.transport.private_texts("bob"))
    shop.clock.set(REOPEN_ENDS)
    await shop.registry.run_node("t1", "reopen-close")
    await shop.drain()
    assert sum("取货码" in t for t in shop.transport.private_texts("bob")) == 1
    assert sum("取货码" in t for t in shop.transport.private_texts("alice")) == 1
    assert not any("取货码" in t for t in shop.texts(G2))
