"""The batch on SQLite and PostgreSQL: 返场 terms only while the group is "reopen", 买赠 gifts from
the same conditional decrement (never oversold), the limit counting paid units, a member's extra
limit, and early access only while "scheduled" and from the op's start."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.campaign import parse_campaign
from bot.storage.engine import init_db, make_engine
from handlers.selling.ops import ReopenTerms
from handlers.selling.reopen_store import begin_reopen, end_reopen, reopen_sales
from handlers.selling.store import CancelOrders, OrderStore, PlaceOrder
from handlers.selling.tables import GROUPS, REOPEN

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TERMS = ReopenTerms((("A1", 800),), buy=2, get=1)


@pytest.fixture
def store(db_url: str) -> OrderStore:
    engine = make_engine(db_url)
    init_db(engine)
    s = OrderStore(engine)
    s.ensure_stock(
        parse_campaign(
            "id: s\ntitle: 测试\ngroups: [g1, g2]\nopens_at: 2026-12-05 20:00\ncloses_at: 2026-12-05 22:00\n"
            "products:\n  - {code: A1, name: 草莓, price: 10, stock: 10, limit_per_member: 3}\n"
            "  - {code: A2, name: 橙子, price: 5, stock: 3}\n"
        ),
        NOW,
    )
    return s


def place(member: str, *lines: tuple[str, int], group: str = "g1", **terms: object) -> PlaceOrder:
    return PlaceOrder("s", group, member, member, tuple(lines), NOW, "", **terms)  # type: ignore[arg-type]


def stock_of(store: OrderStore, code: str = "A1") -> int:
    return next(line.stock for line in store.stock("s") if line.product_code == code)


def reopened(store: OrderStore, *groups: str) -> None:
    for group in groups:
        store.set_group_status("s", group, "closed", NOW)
        with store.write() as conn:
            assert begin_reopen(conn, "s", group, NOW)


def status(store: OrderStore, group: str) -> str:
    return store.group_status("s", group)


def test_reopen_terms_apply_only_in_a_reopened_group(store: OrderStore) -> None:
    store.set_group_status("s", "g1", "open", NOW)
    [sale] = store.apply([place("a", ("A1", 2), reopen=TERMS)], NOW)  # terms on a stale op: ignored
    reopened(store, "g2")
    [plain, late] = store.apply([place("b", ("A1", 2), group="g2"), place("c", ("A1", 2), group="g2", reopen=TERMS)],
                                NOW)  # fmt: skip
    assert sale.lines[0].free == 0 and plain.status == "closed"  # an op built before the 返场
    assert late.lines[0].filled == 2 and late.lines[0].free == 1
    prices = sorted((o.member_id, o.quantity, o.unit_price_cents) for o in store.orders("s"))
    assert prices == [("a", 2, 1000), ("c", 1, 0), ("c", 2, 800)]
    assert stock_of(store) == 5


def test_gifts_come_from_the_same_stock_and_never_oversell(store: OrderStore) -> None:
    reopened(store, "g1", "g2")
    ops = [place(f"m{i}", ("A1", 3), group="g1" if i % 2 else "g2", reopen=TERMS) for i in range(6)]
    results = store.apply(ops, NOW)
    given = [(r.lines[0].filled, r.lines[0].free) for r in results]
    assert given == [(3, 1), (3, 1), (2, 0), (0, 0), (0, 0), (0, 0)]
    assert stock_of(store) == 0
    with store.engine.connect() as conn:
        sales = reopen_sales(conn, "s")
    assert (sales.orders, sales.units, sales.free_units, sales.gmv_cents) == (3, 8, 2, 6400)


def test_the_limit_counts_paid_units_and_a_perk_raises_it(store: OrderStore) -> None:
    reopened(store, "g1")
    [first] = store.apply([place("a", ("A1", 2), reopen=TERMS)], NOW)  # 2 paid + 1 gift, limit 3
    [second] = store.apply([place("a", ("A1", 2), reopen=TERMS)], NOW)
    assert (first.lines[0].filled, first.lines[0].free) == (2, 1)
    assert (second.lines[0].outcome, second.lines[0].filled) == ("partial_limit", 1)
    store.set_group_status("s", "g2", "open", NOW)
    [vip] = store.apply([place("v", ("A1", 6), group="g2", extra_limit=2)], NOW)  # limit 3 + 2
    assert (vip.lines[0].outcome, vip.lines[0].filled, vip.lines[0].limit) == ("partial_limit", 5, 5)
    [unlimited] = store.apply([place("v", ("A2", 3), group="g2", extra_limit=2)], NOW)
    assert (unlimited.lines[0].outcome, unlimited.lines[0].limit) == ("ok", 0)  # no limit stays none


def test_a_reopen_cancel_takes_back_only_the_reopens_orders(store: OrderStore) -> None:
    store.set_group_status("s", "g1", "open", NOW)
    store.apply([place("a", ("A1", 1))], NOW)
    reopened(store, "g1")
    store.apply([place("a", ("A1", 2), reopen=TERMS)], NOW)
    assert stock_of(store) == 6
    [cancel] = store.apply([CancelOrders("s", "g1", "a", None, NOW)], NOW)
    assert cancel.cancelled == {"A1": 3} and stock_of(store) == 9
    assert [(o.quantity, o.unit_price_cents) for o in store.orders("s")] == [(1, 1000)]
    with store.write() as conn:
        assert end_reopen(conn, "s", "g1", NOW)
        assert not end_reopen(conn, "s", "g1", NOW)
    assert status(store, "g1") == "closed"
    [after] = store.apply([CancelOrders("s", "g1", "a", None, NOW)], NOW)
    assert after.status == "closed"


def test_only_a_closed_group_reopens(store: OrderStore) -> None:
    store.set_group_status("s", "g1", "open", NOW)
    with store.write() as conn:
        assert not begin_reopen(conn, "s", "g1", NOW)  # still selling: left alone
        assert not begin_reopen(conn, "s", "g2", NOW)  # never opened
    assert status(store, "g1") == "open" and status(store, "g2") == "scheduled"
    reopened(store, "g2")
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(GROUPS.c.status).where(GROUPS.c.group_id == "g2")).scalar() == REOPEN


def test_early_access_only_while_scheduled_and_from_its_start(store: OrderStore) -> None:
    soon, later = NOW - timedelta(minutes=5), NOW + timedelta(minutes=5)
    [early, too_early, plain] = store.apply(
        [
            place("v", ("A1", 1), early_from=soon),
            place("w", ("A1", 1), early_from=later),
            place("x", ("A1", 1)),
        ],
        NOW,
    )
    assert early.status == "ok" and early.lines[0].filled == 1
    assert too_early.status == "not_open" and plain.status == "not_open"
    store.set_group_status("s", "g1", "closed", NOW)
    [closed] = store.apply([place("v", ("A1", 1), early_from=soon)], NOW)
    assert closed.status == "closed"
    assert stock_of(store) == 9


def test_two_writers_racing_in_the_reopen_never_oversell(store: OrderStore) -> None:
    """Two processes' writers (two stores, one database), each in its own thread: paid units plus
    gifts never exceed the stock, and every unit the stock lost is in an order row."""
    reopened(store, "g1", "g2")
    other = OrderStore(make_engine(str(store.engine.url.render_as_string(hide_password=False))))

    def burst(writer: OrderStore, group: str, first: int) -> int:
        given = 0
        for i in range(first, first + 15):
            [result] = writer.apply([place(f"m{i}", ("A1", 2), ("A2", 1), group=group, reopen=TERMS)], NOW)
            given += sum(line.filled + line.free for line in result.lines)
        return given

    with ThreadPoolExecutor(2) as pool:
        given = sum(pool.map(burst, (store, other), ("g1", "g2"), (0, 100)))
    orders = store.orders("s")
    assert given == sum(o.quantity for o in orders) == 10 + 3  # everything, never more
    assert stock_of(store, "A1") == 0 and stock_of(store, "A2") == 0
    other.engine.dispose()
