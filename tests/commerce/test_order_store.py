"""The order store on SQLite and PostgreSQL: seeding, the conditional decrement, limits, cancel, restock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.campaign import parse_campaign
from bot.storage.engine import init_db, make_engine
from bot.storage.timeline_store import TimelineStore
from handlers.selling.store import STOCK, CancelOrders, OrderStore, PlaceOrder, Restock

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def campaign(a1: int = 5, limit: int = 2):  # type: ignore[no-untyped-def]
    return parse_campaign(
        "id: s\ntitle: 测试\ngroups: [g1, g2]\nopens_at: 2026-12-05 20:00\ncloses_at: 2026-12-05 22:00\n"
        f"products:\n  - {{code: A1, name: 草莓, price: 10, stock: {a1}, limit_per_member: {limit}}}\n"
        "  - {code: A2, name: 橙子, price: 5, stock: 3}\n"
    )


@pytest.fixture
def store(db_url: str) -> OrderStore:
    engine = make_engine(db_url)
    init_db(engine)
    s = OrderStore(engine)
    s.ensure_stock(campaign(), NOW)
    for group in ("g1", "g2"):
        s.set_group_status("s", group, "open", NOW)
    return s


def place(member: str, *lines: tuple[str, int], group: str = "g1") -> PlaceOrder:
    return PlaceOrder("s", group, member, member, tuple(lines), NOW)


def stock_of(store: OrderStore, code: str = "A1") -> int:
    return next(line.stock for line in store.stock("s") if line.product_code == code)


def test_batch_fills_until_sold_out_with_partial_fill_and_limits(store: OrderStore) -> None:
    results = store.apply(
        [place("a", ("A1", 2)), place("b", ("A1", 3)), place("a", ("A1", 1)), place("c", ("A1", 2)),
         place("d", ("A1", 1)), place("e", ("A9", 1))],
        NOW,
    )  # fmt: skip
    outcomes = [(r.lines[0].outcome, r.lines[0].filled) for r in results]
    assert outcomes == [("ok", 2), ("partial_limit", 2), ("limit", 0), ("partial_stock", 1), ("sold_out", 0),
                        ("unknown", 0)]  # fmt: skip
    assert stock_of(store) == 0
    assert sum(o.quantity for o in store.orders("s")) == 5


def test_stock_is_shared_across_groups_and_limit_is_per_member(store: OrderStore) -> None:
    store.apply([place("a", ("A1", 2), group="g1")], NOW)
    [again] = store.apply([place("a", ("A1", 1), group="g2")], NOW)
    assert again.lines[0].outcome == "limit"
    store.apply([place("b", ("A1", 2), group="g2")], NOW)
    assert stock_of(store) == 1


def test_orders_need_an_open_group(store: OrderStore) -> None:
    store.set_group_status("s", "g2", "closed", NOW)
    [closed, unknown_group] = store.apply([place("a", ("A1", 1), group="g2"), place("a", ("A1", 1), group="g9")],
                                          NOW)  # fmt: skip
    assert closed.status == "closed" and unknown_group.status == "not_open"
    assert stock_of(store) == 5


def test_cancel_returns_stock_and_frees_the_limit(store: OrderStore) -> None:
    store.apply([place("a", ("A1", 2), ("A2", 1))], NOW)
    [one] = store.apply([CancelOrders("s", "g1", "a", "A1", NOW)], NOW)
    assert one.cancelled == {"A1": 2} and stock_of(store) == 5
    [refill] = store.apply([place("a", ("A1", 2))], NOW)
    assert refill.lines[0].outcome == "ok"
    [rest] = store.apply([CancelOrders("s", "g1", "a", None, NOW)], NOW)
    assert rest.cancelled == {"A1": 2, "A2": 1}
    assert stock_of(store) == 5 and stock_of(store, "A2") == 3 and store.orders("s") == []
    [nothing] = store.apply([CancelOrders("s", "g1", "a", None, NOW)], NOW)
    assert nothing.status == "ok" and nothing.cancelled == {}
    store.set_group_status("s", "g1", "closed", NOW)
    [late] = store.apply([CancelOrders("s", "g1", "a", None, NOW)], NOW)
    assert late.status == "closed"


def test_restock_adds_and_reload_never_resets(store: OrderStore) -> None:
    store.apply([place("a", ("A1", 2))], NOW)
    [restock] = store.apply([Restock("s", "A1", 10, NOW)], NOW)
    assert (restock.stock, restock.total) == (13, 15)
    store.ensure_stock(campaign(), NOW)  # a reload or restart
    assert stock_of(store) == 13
    store.ensure_stock(campaign(a1=8), NOW)  # the admin raised the file's stock by 3
    line = next(line for line in store.stock("s") if line.product_code == "A1")
    assert (line.stock, line.total, line.sold) == (16, 18, 2)
    store.ensure_stock(campaign(a1=1), NOW)  # cut below what is left: floored at 0, never negative
    assert stock_of(store) == 9
    [unknown] = store.apply([Restock("s", "Z1", 1, NOW)], NOW)
    assert unknown.status == "unknown"


def test_check_constraint_is_the_backstop(store: OrderStore) -> None:
    with pytest.raises(IntegrityError), store.write() as conn:
        conn.execute(sa.update(STOCK).where(STOCK.c.product_code == "A1").values(stock=-1))


def test_stock_is_read_inside_the_writers_transaction(store: OrderStore) -> None:
    with store.write() as conn:  # units sold by someone else since anyone last looked
        conn.execute(sa.update(STOCK).where(STOCK.c.product_code == "A2").values(stock=0))
    results = store.apply([place("a", ("A1", 1)), place("b", ("A2", 1))], NOW)
    assert [r.lines[0].outcome for r in results] == ["ok", "sold_out"]


def test_a_failing_batch_is_rolled_back_and_replayed_one_by_one(store: OrderStore) -> None:
    bad = place("x", ("A2", 0))  # a zero quantity violates CHECK (quantity > 0): the whole batch rolls back
    results = store.apply([place("a", ("A1", 1)), bad, place("b", ("A2", 1))], NOW)
    assert [r.status for r in results] == ["ok", "error", "ok"]
    assert stock_of(store) == 4 and stock_of(store, "A2") == 2
    assert sorted(o.member_id for o in store.orders("s")) == ["a", "b"]


def test_group_status_is_read_inside_the_write(store: OrderStore) -> None:
    assert store.set_group_status("s", "g1", "closed", NOW) == "open"
    assert TimelineStore(store.engine).group_status("s", "g1") == "closed"
    assert store.group_statuses("s") == {"g1": "closed", "g2": "open"}


def _counting_engine(path: Path) -> tuple[sa.Engine, list[int]]:
    """An engine on `path` whose SQLite steps are counted in the list: each row fetched is a step,
    and (once `count_statements` is called) each statement run, each row of an executemany."""
    engine = make_engine(f"sqlite:///{path}")
    steps: list[int] = []

    class Cursor(sqlite3.Cursor):  # each row fetched is a step too
        def fetchone(self):  # type: ignore[no-untyped-def]
            row = super().fetchone()
            steps.append(row is not None)
            return row

        def fetchall(self):  # type: ignore[no-untyped-def]
            rows = super().fetchall()
            steps.append(len(rows))
            return rows

    class Connection(sqlite3.Connection):
        def cursor(self, factory=Cursor):  # type: ignore[no-untyped-def,override]
            return super().cursor(factory)

    @sa.event.listens_for(engine, "do_connect")
    def counting(_dialect, _record, _args, params) -> None:  # type: ignore[no-untyped-def]
        params["factory"] = Connection

    init_db(engine)
    return engine, steps


def count_statements(engine: sa.Engine, steps: list[int]) -> None:
    steps.clear()

    def record(_conn, _cursor, _statement, parameters, _context, many) -> None:  # type: ignore[no-untyped-def]
        steps.append(len(parameters) if many else 1)

    sa.event.listen(engine, "before_cursor_execute", record)


def test_a_batch_across_many_groups_steps_sqlite_a_few_times_not_once_a_row(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The order writer holds the process's write gate for its whole batch, and each SQLite step
    gives up the interpreter lock, to wait for it again behind the busy event loop: reading 300
    groups' statuses and inserting 300 orders a row a step held the gate ~100 ms a batch while
    the inbound log and the outbox waited (docs/performance.md). Same outcomes either way."""
    groups = [f"g{n}" for n in range(300)]
    engine, steps = _counting_engine(tmp_path / "orders.db")
    s = OrderStore(engine)
    s.ensure_stock(
        parse_campaign(
            f"id: s\ntitle: 测试\ngroups: [{', '.join(groups)}]\nopens_at: 2026-12-05 20:00\n"
            "closes_at: 2026-12-05 22:00\nproducts:\n  - {code: A1, name: 草莓, price: 10, stock: 1000, limit_per_member: 3}\n"
        ),
        NOW,
    )
    for group in groups[:-1]:  # the last group is not open yet
        s.set_group_status("s", group, "open", NOW)
    s.apply([PlaceOrder("s", "g0", "m0", "m0", (("A1", 2),), NOW)], NOW)  # m0 holds 2 already
    count_statements(engine, steps)
    ops = [PlaceOrder("s", group, f"m{n}", f"m{n}", (("A1", 2),), NOW) for n, group in enumerate(groups)]
    results = s.apply(ops, NOW)
    assert sum(steps) <= 20, f"{sum(steps)} SQLite steps for a batch of 300 orders"
    outcomes = [
        (r.status, r.lines[0].outcome if r.lines else "", r.lines[0].filled if r.lines else 0)
        for r in results
    ]
    assert outcomes[0] == ("ok", "partial_limit", 1)  # m0 held 2 of 3
    assert outcomes[1:-1] == [("ok", "ok", 2)] * 298
    assert outcomes[-1][0] == "not_open"
    assert stock_of(s) == 1000 - 2 - 1 - 2 * 298
    assert sum(o.quantity for o in s.orders("s")) == 2 + 1 + 2 * 298


def test_a_batch_over_five_products_reads_holdings_and_takes_stock_once_each(tmp_path: Path) -> None:
    """A flash sale's batch orders every product: what members hold was read a statement a
    product, and the stock taken a statement a product. Each statement is a wait for the
    interpreter lock behind the busy event loop (5-15 ms in the flood), with the write gate held:
    batches of 500 orders took 60-130 ms where they take 10-20 ms when chat is quiet
    (docs/performance.md). Same outcomes either way."""
    stock = {"A1": 100, "A2": 10, "A3": 100, "A4": 7, "A5": 100}
    products = "".join(
        f"  - {{code: {code}, name: 品{code}, price: 10, stock: {units}, limit_per_member: 2}}\n"
        for code, units in stock.items()
    )
    engine, steps = _counting_engine(tmp_path / "orders.db")
    s = OrderStore(engine)
    s.ensure_stock(
        parse_campaign(
            "id: s\ntitle: 测试\ngroups: [g1, g2]\nopens_at: 2026-12-05 20:00\n"
            f"closes_at: 2026-12-05 22:00\nproducts:\n{products}"
        ),
        NOW,
    )
    for group in ("g1", "g2"):
        s.set_group_status("s", group, "open", NOW)
    s.apply([place("m0", ("A1", 2))], NOW)  # m0 is at the limit of A1 already
    stock["A1"] -= 2
    count_statements(engine, steps)
    codes = list(stock)
    ops = [place(f"m{n % 40}", (codes[n % 7 % 5], 1 + n % 3), group=f"g{1 + n % 2}") for n in range(200)]
    results = s.apply(ops, NOW)
    assert sum(steps) <= 11, f"{sum(steps)} SQLite steps for a batch of 200 orders over five products"
    held = {("m0", "A1"): 2}
    for op, result in zip(ops, results, strict=True):  # each order as the rules say, in order
        (code, wanted), key = op.lines[0], (op.member_id, op.lines[0][0])
        filled = max(0, min(wanted, 2 - held.get(key, 0), stock[code]))
        assert result.lines[0].filled == filled, (op, result)
        held[key], stock[code] = held.get(key, 0) + filled, stock[code] - filled
    assert stock["A2"] == stock["A4"] == 0  # sold out within the batch
    assert {code: stock_of(s, code) for code in codes} == stock
