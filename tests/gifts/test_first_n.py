"""Acceptance (issue 17, point 2): 500 simultaneous orders across 5 groups against 「前100名赠礼」
give exactly 100 gifts, to the first 100 commits: through the chat and the real order writer, in
several batches, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from handlers.gifts.figures import figures
from handlers.points.ledger import points_of
from tests.fakes import FakeClock
from tests.gifts.kit import GROUPS, first_orders, five_group_shop, holders, order_all_at_once, text_with

FIRST = 100
MEMBERS = [f"m{i:03d}" for i in range(500)]


async def test_500_simultaneous_orders_in_5_groups_give_exactly_the_first_100_commits_a_gift(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    text = text_with(groups=GROUPS, **{"first: 3": f"first: {FIRST}"})
    shop = five_group_shop(tmp_path, clock, text, db_url)
    await shop.open()
    for group in GROUPS[2:]:  # the kit's open node runs in the first two groups
        shop.sell.set_status("t1", group, "open")
    shop.transport.clear()
    shop.sell.writer.max_batch = 37  # many batches, as in a real flash sale
    orders = [(m, GROUPS[i % 5], f"A{1 + i % 2} {1 + i % 3}") for i, m in enumerate(MEMBERS)]

    await order_all_at_once(shop, orders)

    assert shop.sell.writer.stats.batches >= 10 and shop.sell.writer.stats.operations == 500
    gifted = holders(shop)
    assert sorted(gifted.values()) == list(range(1, FIRST + 1))
    committed = first_orders(shop)  # members by their first order's id: the order batches committed
    assert len(committed) == 500
    assert sorted(gifted, key=gifted.__getitem__) == committed[:FIRST]  # the first 100, numbered in order
    told = {m for m in MEMBERS if any("获赠" in t for t in shop.transport.private_texts(m))}
    assert told == set(gifted)
    assert all(len(shop.transport.private_texts(m)) == 1 for m in gifted)
    for group in GROUPS:
        assert sum("前 100 名下单赠礼" in t and "已送完" in t for t in shop.texts(group)) == 1
    assert points_of(shop.app.services).awarded("gift", "t1") == {m: 20 for m in gifted}
    engine = shop.app.services.repo.engine
    assert figures(engine, "t1", None) == {"gifts_given": 100, "gifts_passed": 0, "gifts_left": 0}
    in_g1 = figures(engine, "t1", [GROUPS[0]])
    assert in_g1["gifts_given"] == sum(1 for m in gifted if MEMBERS.index(m) % 5 == 0)
