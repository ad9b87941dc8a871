"""One transaction's worth of order operations, applied in order with the rows it locked cached.

Why it looks like this: stock is decremented with one conditional statement per
product and batch, ``UPDATE … SET stock = stock - :n WHERE … AND stock >= :n``,
whose row count is checked, in the same transaction that inserts the orders. On
PostgreSQL the rows are locked first (``SELECT … FOR UPDATE``, in a fixed
order) so the per-member limit, read after the lock, cannot be raced by a
second writer process. Whether a group may order is read inside the same
transaction (``FOR SHARE`` on PostgreSQL; the write lock on SQLite), so an order
racing the close is either committed before it or refused after it. A remark typed
with an order (`A1 2 备注 3栋502`) is written in the same transaction, and only when
the order filled at least one line. Only Core statements: per-order ORM objects
cost several times the SQL.

What an op carries is applied only when the state read here agrees: 返场 prices and 买赠 gifts
(`PlaceOrder.reopen`) while the group is "reopen", early access (`early_from`) while it is still
"scheduled". A gift is its own row at price 0 and comes out of the same pending decrement as the
paid units, so the one conditional UPDATE covers both; the per-member limit (raised by the op's
`extra_limit`) counts paid units only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.engine import Connection

from bot.storage.multirow import MultiRowInserts
from bot.storage.one_row import as_one_row, read_one_row
from bot.storage.tables import bind_processor
from handlers.selling.ops import CancelOrders, LineResult, Operation, OpResult, PlaceOrder, Restock
from handlers.selling.remark_rows import write_remarks
from handlers.selling.tables import ACTIVE, CANCELLED, GROUPS, ORDERS, REOPEN, REOPENS, STOCK

# The statements of every batch, built once with bound parameters: building one per batch (and
# its cache key) cost ~130 µs against ~23 µs to run it prebuilt, and an order batch in ordinary
# chat is a few orders, so building was most of the order writer's time (docs/performance.md).
_STATUS = (
    select(GROUPS.c.group_id, GROUPS.c.status)
    .where(
        GROUPS.c.campaign_id == bindparam("campaign"),
        GROUPS.c.group_id.in_(bindparam("groups", expanding=True)),
    )
    .order_by(GROUPS.c.group_id)
)
_STATUS_SHARED = _STATUS.with_for_update(read=True)
_STOCK = (
    select(STOCK.c.product_code, STOCK.c.stock, STOCK.c.limit_per_member, STOCK.c.price_cents)
    .where(
        STOCK.c.campaign_id == bindparam("campaign"),
        STOCK.c.product_code.in_(bindparam("codes", expanding=True)),
    )
    .order_by(STOCK.c.product_code)
)
_STOCK_LOCKED = _STOCK.with_for_update()
_HELD = (
    select(ORDERS.c.member_id, ORDERS.c.product_code, func.sum(ORDERS.c.quantity))
    .where(
        ORDERS.c.campaign_id == bindparam("campaign"),
        ORDERS.c.product_code.in_(bindparam("codes", expanding=True)),
        ORDERS.c.status == ACTIVE,
        ORDERS.c.unit_price_cents > 0,  # 买赠 gifts (price 0) do not count towards the limit
        ORDERS.c.member_id.in_(bindparam("members", expanding=True)),
    )
    .group_by(ORDERS.c.member_id, ORDERS.c.product_code)
)
_TAKE = (
    update(STOCK)
    .where(
        STOCK.c.campaign_id == bindparam("campaign"),
        STOCK.c.product_code == bindparam("code"),
        STOCK.c.stock >= bindparam("units"),
    )
    .values(stock=STOCK.c.stock - bindparam("units"), updated_at=bindparam("at"))
)
_INSERT_ORDERS = insert(ORDERS)
# On SQLite the reads come back as one JSON row and the orders go as multi-row INSERTs: the
# batch holds the write gate throughout, and each row a step kept the other writers waiting
# (bot/storage/one_row.py, bot/storage/multirow.py).
_STATUS_ROW, _STOCK_ROW, _HELD_ROW = as_one_row(_STATUS), as_one_row(_STOCK), as_one_row(_HELD)
_INSERTS = MultiRowInserts()


def _take_stock(conn: Connection, campaign_id: str, units: list[tuple[str, int]], now: datetime) -> int:
    """On SQLite, take `units` of each product in one statement (`_TAKE` for all of them,
    joined on a VALUES list): each statement of a batch is a wait for the interpreter lock
    behind the busy event loop, with the write gate held. The number of products taken: one
    short of stock takes none of it (SQLite changes no row whose condition fails)."""
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    table, code, stock = quote(STOCK.name), quote("product_code"), quote("stock")
    at = bind_processor(STOCK.c.updated_at.type, dialect)
    rows = ", ".join(["(?, ?)"] * len(units))
    sql = (
        f"UPDATE {table} SET {stock} = {table}.{stock} - v.column2, {quote('updated_at')} = ?"
        f" FROM (VALUES {rows}) AS v"
        f" WHERE {table}.{quote('campaign_id')} = ? AND {table}.{code} = v.column1"
        f" AND {table}.{stock} >= v.column2"
    )
    params = (now if at is None else at(now), *(value for pair in units for value in pair), campaign_id)
    return int(conn.exec_driver_sql(sql, params).rowcount)


class OversellError(RuntimeError):
    """The conditional decrement touched no row: the batch is rolled back (never seen in practice)."""


@dataclass
class _Stock:
    stock: int
    limit: int
    price_cents: int
    pending: int = 0  # units taken in this batch, not yet written


class Batch:
    """One transaction's worth of operations, with the rows it locked cached in memory."""

    def __init__(self, conn: Connection, sqlite: bool, now: datetime) -> None:
        self.conn = conn
        self.sqlite = sqlite
        self.now = now
        self.status: dict[tuple[str, str], str] = {}
        self.stock: dict[tuple[str, str], _Stock | None] = {}
        self.held: dict[tuple[str, str, str], int] = {}
        self.inserts: list[dict[str, Any]] = []
        self.remarks: dict[tuple[str, str], str] = {}  # (campaign, member) -> 备注 of a filled order

    def run(self, ops: list[Operation]) -> list[OpResult]:
        self._prefetch([op for op in ops if isinstance(op, PlaceOrder)])
        results = []
        for op in ops:
            if isinstance(op, PlaceOrder):
                results.append(self._place(op))
            elif isinstance(op, CancelOrders):
                self._flush()
                results.append(self._cancel(op))
            else:
                self._flush()
                results.append(self._restock(op))
        self._flush()
        return results

    # -- reads under lock ---------------------------------------------------------------------
    def _prefetch(self, places: list[PlaceOrder]) -> None:
        """Lock and read, in a fixed order, every row the batch's orders need."""
        if not places:
            return
        groups: dict[str, set[str]] = {}
        products: dict[str, set[str]] = {}
        members: dict[tuple[str, str], set[str]] = {}
        for op in places:
            groups.setdefault(op.campaign_id, set()).add(op.group_id)
            for code, _ in op.lines:
                products.setdefault(op.campaign_id, set()).add(code)
                members.setdefault((op.campaign_id, code), set()).add(op.member_id)
        for campaign_id in sorted(groups):
            self._read_status(campaign_id, sorted(groups[campaign_id]))
        for campaign_id in sorted(products):
            self._read_stock(campaign_id, sorted(products[campaign_id]))
        for campaign_id in sorted(products):
            self._read_held(campaign_id, sorted(products[campaign_id]), members)

    def _rows(self, one_row: Any, query: Any, params: dict[str, Any]) -> Any:
        """The rows of `query`: on SQLite as `one_row` (one step), elsewhere as they come."""
        return read_one_row(self.conn, one_row, params) if self.sqlite else self.conn.execute(query, params)

    def _read_status(self, campaign_id: str, group_ids: list[str]) -> None:
        params = {"campaign": campaign_id, "groups": group_ids}
        found = {r[0]: r[1] for r in self._rows(_STATUS_ROW, _STATUS_SHARED, params)}
        for group_id in group_ids:
            self.status[(campaign_id, group_id)] = found.get(group_id, "scheduled")

    def _read_stock(self, campaign_id: str, codes: list[str]) -> None:
        rows = self._rows(_STOCK_ROW, _STOCK_LOCKED, {"campaign": campaign_id, "codes": codes})
        found = {r[0]: _Stock(int(r[1]), int(r[2]), int(r[3])) for r in rows}
        for code in codes:
            self.stock[(campaign_id, code)] = found.get(code)

    def _read_held(
        self, campaign_id: str, codes: list[str], members: dict[tuple[str, str], set[str]]
    ) -> None:
        """What the batch's members hold of the products they order (`members`: who orders each
        product), one statement a campaign: every member and product of it, a few pairs more
        than asked, read all the same."""
        member_ids = sorted(set().union(*(members[(campaign_id, code)] for code in codes)))
        params = {"campaign": campaign_id, "codes": codes, "members": member_ids}
        found = {(r[0], r[1]): int(r[2]) for r in self._rows(_HELD_ROW, _HELD, params)}
        for code in codes:
            for member_id in members[(campaign_id, code)]:
                self.held[(campaign_id, member_id, code)] = 0
        for (member_id, code), units in found.items():
            self.held[(campaign_id, member_id, code)] = units

    # -- operations -----------------------------------------------------------------------------
    def _place(self, op: PlaceOrder) -> OpResult:
        status = self.status.get((op.campaign_id, op.group_id), "scheduled")
        terms = op.reopen if status == REOPEN else None
        early = status == "scheduled" and op.early_from is not None and op.early_from <= self.now
        if status != "open" and terms is None and not early:
            return OpResult("closed" if status in ("closed", REOPEN) else "not_open")
        lines = []
        for code, requested in op.lines:
            stock = self.stock.get((op.campaign_id, code))
            if stock is None:
                lines.append(LineResult(code, requested, 0, "unknown"))
                continue
            key = (op.campaign_id, op.member_id, code)
            held = self.held.get(key, 0)
            want = requested
            limit = stock.limit + op.extra_limit if stock.limit else 0  # 0 stays unlimited
            if limit:
                room = limit - held
                if room <= 0:
                    lines.append(LineResult(code, requested, 0, "limit", stock.stock, limit))
                    continue
                want = min(requested, room)
            if stock.stock <= 0:
                lines.append(LineResult(code, requested, 0, "sold_out", 0, limit))
                continue
            filled = min(want, stock.stock)
            outcome = "ok" if filled == requested else ("partial_stock" if filled < want else "partial_limit")
            free = min(terms.free_for(filled), stock.stock - filled) if terms is not None else 0
            stock.stock -= filled + free
            stock.pending += filled + free  # gifts come out of the same conditional decrement
            self.held[key] = held + filled  # the limit counts paid units: a gift is not a purchase
            price = terms.price(code, stock.price_cents) if terms is not None else stock.price_cents
            self.inserts.append(self._row(op, code, filled, price))
            if free:
                self.inserts.append(self._row(op, code, free, 0))
            lines.append(LineResult(code, requested, filled, outcome, stock.stock, limit, free))
        if op.remark and any(line.filled for line in lines):
            self.remarks[(op.campaign_id, op.member_id)] = op.remark  # a later one in the batch wins
        return OpResult("ok", lines)

    @staticmethod
    def _row(op: PlaceOrder, code: str, quantity: int, price_cents: int) -> dict[str, Any]:
        return {
            "campaign_id": op.campaign_id,
            "group_id": op.group_id,
            "member_id": op.member_id,
            "member_name": op.member_name,
            "product_code": code,
            "quantity": quantity,
            "unit_price_cents": price_cents,
            "status": ACTIVE,
            "created_at": op.at,
        }

    def _flush(self) -> None:
        """Write the batch's decrements (one conditional UPDATE per product; on SQLite one per
        campaign, `_take_stock`) and its orders."""
        taking: dict[str, list[tuple[str, _Stock]]] = {}
        for (campaign_id, code), stock in self.stock.items():
            if stock is not None and stock.pending:
                taking.setdefault(campaign_id, []).append((code, stock))
        for campaign_id, taken in taking.items():
            if self.sqlite and len(taken) > 1:
                units = [(code, stock.pending) for code, stock in taken]
                if _take_stock(self.conn, campaign_id, units, self.now) != len(taken):
                    raise OversellError(f"stock of {campaign_id} is below {units}")
            else:
                for code, stock in taken:
                    params = {"campaign": campaign_id, "code": code, "units": stock.pending, "at": self.now}
                    if self.conn.execute(_TAKE, params).rowcount != 1:
                        raise OversellError(f"stock of {campaign_id}/{code} is below {stock.pending}")
            for _, stock in taken:
                stock.pending = 0
        if self.inserts:
            _INSERTS.run(self.conn, _INSERT_ORDERS, self.inserts)
            self.inserts = []
        if self.remarks:
            write_remarks(self.conn, self.remarks, self.now)
            self.remarks = {}

    def _cancel(self, op: CancelOrders) -> OpResult:
        status = self._status_now(op.campaign_id, op.group_id)
        after = self._reopened_after(op.campaign_id, op.group_id) if status == REOPEN else None
        if status == "closed" or (status == REOPEN and after is None):
            return OpResult("closed")
        where = [
            ORDERS.c.campaign_id == op.campaign_id,
            ORDERS.c.group_id == op.group_id,
            ORDERS.c.member_id == op.member_id,
            ORDERS.c.status == ACTIVE,
        ]
        if after is not None:  # in a 返场 only its own orders can be cancelled; the sale's are settled
            where.append(ORDERS.c.id > after)
        if op.product_code is not None:
            where.append(ORDERS.c.product_code == op.product_code)
        paid_units = func.sum(case((ORDERS.c.unit_price_cents > 0, ORDERS.c.quantity), else_=0))
        rows = self.conn.execute(
            select(ORDERS.c.product_code, func.sum(ORDERS.c.quantity), paid_units)
            .where(*where)
            .group_by(ORDERS.c.product_code)
            .order_by(ORDERS.c.product_code)
        ).all()
        sums = {r[0]: int(r[1]) for r in rows}
        paid = {r[0]: int(r[2]) for r in rows}
        if not sums:
            return OpResult("ok")
        self.conn.execute(update(ORDERS).where(*where).values(status=CANCELLED, cancelled_at=op.at))
        for code, quantity in sums.items():
            self.conn.execute(
                update(STOCK)
                .where(STOCK.c.campaign_id == op.campaign_id, STOCK.c.product_code == code)
                .values(stock=STOCK.c.stock + quantity, updated_at=self.now)
            )
            cached = self.stock.get((op.campaign_id, code))
            if cached is not None:
                cached.stock += quantity
            key = (op.campaign_id, op.member_id, code)
            if key in self.held:
                self.held[key] -= paid[code]
        return OpResult("ok", cancelled=sums)

    def _restock(self, op: Restock) -> OpResult:
        result = self.conn.execute(
            update(STOCK)
            .where(STOCK.c.campaign_id == op.campaign_id, STOCK.c.product_code == op.product_code)
            .values(stock=STOCK.c.stock + op.quantity, total=STOCK.c.total + op.quantity, updated_at=self.now)
        )
        if not result.rowcount:
            return OpResult("unknown")
        row = self.conn.execute(
            select(STOCK.c.stock, STOCK.c.total).where(
                STOCK.c.campaign_id == op.campaign_id, STOCK.c.product_code == op.product_code
            )
        ).one()
        cached = self.stock.get((op.campaign_id, op.product_code))
        if cached is not None:
            cached.stock += op.quantity
        return OpResult("ok", stock=int(row[0]), total=int(row[1]))

    def _reopened_after(self, campaign_id: str, group_id: str) -> int | None:
        """The highest order id when the group's 返场 began (its own orders come after it)."""
        row = self.conn.execute(
            select(REOPENS.c.after_order_id).where(
                REOPENS.c.campaign_id == campaign_id,
                REOPENS.c.group_id == group_id,
                REOPENS.c.closed_at.is_(None),
            )
        ).first()
        return int(row[0]) if row else None

    def _status_now(self, campaign_id: str, group_id: str) -> str:
        query = select(GROUPS.c.status).where(
            GROUPS.c.campaign_id == campaign_id, GROUPS.c.group_id == group_id
        )
        if not self.sqlite:
            query = query.with_for_update(read=True)
        row = self.conn.execute(query).first()
        return str(row[0]) if row else "scheduled"


__all__ = ["Batch", "OversellError"]
