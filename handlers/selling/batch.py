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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from handlers.selling.ops import CancelOrders, LineResult, Operation, OpResult, PlaceOrder, Restock
from handlers.selling.remark_rows import write_remarks
from handlers.selling.tables import ACTIVE, CANCELLED, GROUPS, ORDERS, STOCK


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
        for (campaign_id, code), ids in sorted(members.items()):
            self._read_held(campaign_id, code, sorted(ids))

    def _read_status(self, campaign_id: str, group_ids: list[str]) -> None:
        query = (
            select(GROUPS.c.group_id, GROUPS.c.status)
            .where(GROUPS.c.campaign_id == campaign_id, GROUPS.c.group_id.in_(group_ids))
            .order_by(GROUPS.c.group_id)
        )
        if not self.sqlite:
            query = query.with_for_update(read=True)
        found = {r[0]: r[1] for r in self.conn.execute(query)}
        for group_id in group_ids:
            self.status[(campaign_id, group_id)] = found.get(group_id, "scheduled")

    def _read_stock(self, campaign_id: str, codes: list[str]) -> None:
        query = (
            select(STOCK.c.product_code, STOCK.c.stock, STOCK.c.limit_per_member, STOCK.c.price_cents)
            .where(STOCK.c.campaign_id == campaign_id, STOCK.c.product_code.in_(codes))
            .order_by(STOCK.c.product_code)
        )
        if not self.sqlite:
            query = query.with_for_update()
        found = {r[0]: _Stock(int(r[1]), int(r[2]), int(r[3])) for r in self.conn.execute(query)}
        for code in codes:
            self.stock[(campaign_id, code)] = found.get(code)

    def _read_held(self, campaign_id: str, code: str, member_ids: list[str]) -> None:
        query = (
            select(ORDERS.c.member_id, func.sum(ORDERS.c.quantity))
            .where(
                ORDERS.c.campaign_id == campaign_id,
                ORDERS.c.product_code == code,
                ORDERS.c.status == ACTIVE,
                ORDERS.c.member_id.in_(bindparam("members", expanding=True)),
            )
            .group_by(ORDERS.c.member_id)
        )
        found = {r[0]: int(r[1]) for r in self.conn.execute(query, {"members": member_ids})}
        for member_id in member_ids:
            self.held[(campaign_id, member_id, code)] = found.get(member_id, 0)

    # -- operations -----------------------------------------------------------------------------
    def _place(self, op: PlaceOrder) -> OpResult:
        status = self.status.get((op.campaign_id, op.group_id), "scheduled")
        if status != "open":
            return OpResult("closed" if status == "closed" else "not_open")
        lines = []
        for code, requested in op.lines:
            stock = self.stock.get((op.campaign_id, code))
            if stock is None:
                lines.append(LineResult(code, requested, 0, "unknown"))
                continue
            key = (op.campaign_id, op.member_id, code)
            held = self.held.get(key, 0)
            want = requested
            if stock.limit:
                room = stock.limit - held
                if room <= 0:
                    lines.append(LineResult(code, requested, 0, "limit", stock.stock, stock.limit))
                    continue
                want = min(requested, room)
            if stock.stock <= 0:
                lines.append(LineResult(code, requested, 0, "sold_out", 0, stock.limit))
                continue
            filled = min(want, stock.stock)
            outcome = "ok" if filled == requested else ("partial_stock" if filled < want else "partial_limit")
            stock.stock -= filled
            stock.pending += filled
            self.held[key] = held + filled
            self.inserts.append(
                {
                    "campaign_id": op.campaign_id,
                    "group_id": op.group_id,
                    "member_id": op.member_id,
                    "member_name": op.member_name,
                    "product_code": code,
                    "quantity": filled,
                    "unit_price_cents": stock.price_cents,
                    "status": ACTIVE,
                    "created_at": op.at,
                }
            )
            lines.append(LineResult(code, requested, filled, outcome, stock.stock, stock.limit))
        if op.remark and any(line.filled for line in lines):
            self.remarks[(op.campaign_id, op.member_id)] = op.remark  # a later one in the batch wins
        return OpResult("ok", lines)

    def _flush(self) -> None:
        """Write the batch's decrements (one conditional UPDATE per product) and its orders."""
        for (campaign_id, code), stock in self.stock.items():
            if stock is None or not stock.pending:
                continue
            result = self.conn.execute(
                update(STOCK)
                .where(
                    STOCK.c.campaign_id == campaign_id,
                    STOCK.c.product_code == code,
                    STOCK.c.stock >= stock.pending,
                )
                .values(stock=STOCK.c.stock - stock.pending, updated_at=self.now)
            )
            if result.rowcount != 1:
                raise OversellError(f"stock of {campaign_id}/{code} is below {stock.pending}")
            stock.pending = 0
        if self.inserts:
            self.conn.execute(insert(ORDERS), self.inserts)
            self.inserts = []
        if self.remarks:
            write_remarks(self.conn, self.remarks, self.now)
            self.remarks = {}

    def _cancel(self, op: CancelOrders) -> OpResult:
        status = self._status_now(op.campaign_id, op.group_id)
        if status == "closed":
            return OpResult("closed")
        where = [
            ORDERS.c.campaign_id == op.campaign_id,
            ORDERS.c.group_id == op.group_id,
            ORDERS.c.member_id == op.member_id,
            ORDERS.c.status == ACTIVE,
        ]
        if op.product_code is not None:
            where.append(ORDERS.c.product_code == op.product_code)
        sums = {
            r[0]: int(r[1])
            for r in self.conn.execute(
                select(ORDERS.c.product_code, func.sum(ORDERS.c.quantity))
                .where(*where)
                .group_by(ORDERS.c.product_code)
                .order_by(ORDERS.c.product_code)
            )
        }
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
                self.held[key] -= quantity
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

    def _status_now(self, campaign_id: str, group_id: str) -> str:
        query = select(GROUPS.c.status).where(
            GROUPS.c.campaign_id == campaign_id, GROUPS.c.group_id == group_id
        )
        if not self.sqlite:
            query = query.with_for_update(read=True)
        row = self.conn.execute(query).first()
        return str(row[0]) if row else "scheduled"


__all__ = ["Batch", "OversellError"]
