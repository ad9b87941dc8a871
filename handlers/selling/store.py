"""Stock and chain orders (接龙): tables and the one place that writes them.

Why it looks like this:

* Stock lives in one row per (campaign, product), shared by all the campaign's
  groups (one warehouse). It is decremented with one conditional statement,
  ``UPDATE … SET stock = stock - :n WHERE … AND stock >= :n``, whose row count
  is checked, in the same transaction that inserts the orders; a
  ``CHECK (stock >= 0)`` is the backstop. On PostgreSQL the rows are also
  locked first (``SELECT … FOR UPDATE``) so the per-member limit, read after
  the lock, cannot be raced by a second writer process.
* Writes come in batches from the single writer (`handlers.selling.order_writer`):
  each batch is one transaction, which on SQLite starts with ``BEGIN IMMEDIATE``
  so it takes the write lock up front and waits (busy timeout) instead of
  failing on a lock upgrade. A batch that fails is rolled back and replayed one
  operation per transaction, so one bad order cannot sink its neighbours.
* Whether a group may order is `campaign_groups.status`, read inside the same
  transaction (``FOR SHARE`` on PostgreSQL; the write lock on SQLite), so an
  order racing the close is either committed before it or refused after it.
* Only Core statements: per-order ORM objects cost several times the SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy import CheckConstraint, Index, bindparam, case, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from bot.campaign import Campaign
from bot.storage.engine import SQLITE_BEGIN_OPTION
from bot.storage.tables import CampaignGroupState, utc_column

ACTIVE = "active"
CANCELLED = "cancelled"


class CampaignStock(SQLModel, table=True):
    """Live stock of one product of one campaign, shared by all its groups."""

    __tablename__ = "campaign_stock"
    __table_args__ = (CheckConstraint("stock >= 0", name="ck_campaign_stock_nonneg"),)

    campaign_id: str = Field(primary_key=True)
    product_code: str = Field(primary_key=True)
    name: str = ""
    price_cents: int = 0
    unit: str = ""
    limit_per_member: int = 0  # 0 = no limit
    stock: int = 0  # units left to sell
    total: int = 0  # units ever made available: the file's stock plus restocks
    file_stock: int = 0  # the campaign file's stock last applied (an edit applies the difference)
    updated_at: datetime = utc_column()


class OrderRow(SQLModel, table=True):
    """One chain-order entry: who ordered how many of what, at what price, in which group."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
        Index("ix_orders_campaign_group", "campaign_id", "group_id", "status", "id"),
        Index("ix_orders_campaign_member", "campaign_id", "member_id", "product_code", "status"),
        Index("ix_orders_campaign_product", "campaign_id", "product_code", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    group_id: str
    member_id: str
    member_name: str = ""  # display name at order time, already made safe to show in a group
    product_code: str
    quantity: int
    unit_price_cents: int
    status: str = ACTIVE
    created_at: datetime = utc_column()
    cancelled_at: datetime | None = utc_column(nullable=True)


class PickupChoice(SQLModel, table=True):
    """The pickup point (自提点) a member chose for a campaign; used to group the export."""

    __tablename__ = "order_pickups"

    campaign_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    pickup_point: str = ""
    updated_at: datetime = utc_column()


STOCK = CampaignStock.__table__  # type: ignore[attr-defined]
ORDERS = OrderRow.__table__  # type: ignore[attr-defined]
GROUPS = CampaignGroupState.__table__  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- operations and results
@dataclass(frozen=True)
class PlaceOrder:
    """A member's order message: one or more (product code, quantity) lines."""

    campaign_id: str
    group_id: str
    member_id: str
    member_name: str
    lines: tuple[tuple[str, int], ...]
    at: datetime


@dataclass(frozen=True)
class CancelOrders:
    """Cancel a member's active orders in a group: one product, or all when `product_code` is None."""

    campaign_id: str
    group_id: str
    member_id: str
    product_code: str | None
    at: datetime


@dataclass(frozen=True)
class Restock:
    """Add units to a product's stock (a leader's `/stock A1 +20`)."""

    campaign_id: str
    product_code: str
    quantity: int
    at: datetime


Operation = PlaceOrder | CancelOrders | Restock


@dataclass(frozen=True)
class LineResult:
    """What happened to one line of an order.

    outcome: ok | partial_stock (only some left) | partial_limit (capped by the per-member limit)
    | sold_out | limit (already at the limit) | unknown (no such product).
    """

    product_code: str
    requested: int
    filled: int
    outcome: str
    remaining: int = 0
    limit: int = 0


@dataclass
class OpResult:
    """The committed outcome of one operation; handed back only after the commit.

    status: ok | not_open | closed | unknown | error.
    """

    status: str
    lines: list[LineResult] = field(default_factory=list)
    cancelled: dict[str, int] = field(default_factory=dict)
    stock: int = 0
    total: int = 0

    @property
    def filled(self) -> int:
        return sum(line.filled for line in self.lines)


@dataclass(frozen=True)
class StockLine:
    product_code: str
    name: str
    price_cents: int
    unit: str
    limit_per_member: int
    stock: int
    total: int

    @property
    def sold(self) -> int:
        return self.total - self.stock


@dataclass(frozen=True)
class ChainEntry:
    """One line of the 接龙 list: a member's active units of one product in a group."""

    member_id: str
    member_name: str
    product_code: str
    quantity: int
    first_id: int
    last_id: int


@dataclass(frozen=True)
class OrderView:
    id: int
    group_id: str
    member_id: str
    member_name: str
    product_code: str
    quantity: int
    unit_price_cents: int
    created_at: datetime


class OversellError(RuntimeError):
    """The conditional decrement touched no row: the batch is rolled back (never seen in practice)."""


@dataclass
class _Stock:
    stock: int
    limit: int
    price_cents: int
    pending: int = 0  # units taken in this batch, not yet written


# --------------------------------------------------------------------------- the store
class OrderStore:
    """Orders and stock on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction holding the write lock from its first statement (SQLite: BEGIN IMMEDIATE)."""
        with self.engine.connect() as conn:
            if self.sqlite:
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    # -- stock seeding -----------------------------------------------------------------
    def ensure_stock(self, campaign: Campaign, now: datetime) -> None:
        """Create missing stock rows from the campaign file; never reset existing ones.

        If the admin edited a product's stock in the file since it was last applied,
        the difference is applied (like a restock, or a reduction floored at 0), so a
        reload or restart keeps what was sold.
        """
        with self.write() as conn:
            self.ensure_stock_in(conn, campaign, now)

    def ensure_stock_in(self, conn: Connection, campaign: Campaign, now: datetime) -> None:
        rows = {
            r.product_code: r
            for r in conn.execute(select(STOCK).where(STOCK.c.campaign_id == campaign.id)).all()
        }
        for product in campaign.products:
            meta = {
                "name": product.name,
                "price_cents": product.price_cents,
                "unit": product.unit or "",
                "limit_per_member": product.limit_per_member or 0,
                "updated_at": now,
            }
            row = rows.get(product.code)
            if row is None:
                conn.execute(
                    insert(STOCK).values(
                        campaign_id=campaign.id,
                        product_code=product.code,
                        stock=product.stock,
                        total=product.stock,
                        file_stock=product.stock,
                        **meta,
                    )
                )
                continue
            delta = product.stock - row.file_stock
            changed = delta or any(getattr(row, k) != v for k, v in meta.items() if k != "updated_at")
            if not changed:
                continue
            values: dict[str, Any] = dict(meta)
            if delta:
                values["stock"] = case((STOCK.c.stock + delta < 0, 0), else_=STOCK.c.stock + delta)
                values["total"] = STOCK.c.total + delta
                values["file_stock"] = product.stock
            conn.execute(
                update(STOCK)
                .where(STOCK.c.campaign_id == campaign.id, STOCK.c.product_code == product.code)
                .values(**values)
            )

    # -- the writer's batch --------------------------------------------------------------
    def apply(self, ops: list[Operation], now: datetime) -> list[OpResult]:
        """Apply operations in order in one transaction; on failure replay them one by one."""
        if not ops:
            return []
        try:
            with self.write() as conn:
                return _Batch(conn, self.sqlite, now).run(ops)
        except Exception:
            if len(ops) == 1:
                raise
        results = []
        for op in ops:
            try:
                with self.write() as conn:
                    results.extend(_Batch(conn, self.sqlite, now).run([op]))
            except Exception:
                logger.opt(exception=True).error("order operation failed and was rolled back: {}", op)
                results.append(OpResult("error"))
        return results

    # -- state changes outside the writer ------------------------------------------------
    def set_group_status(self, campaign_id: str, group_id: str, status: str, now: datetime) -> str:
        """Open or close ordering in a group, serialised with the writer; returns the previous status."""
        from bot.storage.timeline_store import TimelineStore

        with self.write() as conn:
            row = conn.execute(
                select(GROUPS.c.status).where(
                    GROUPS.c.campaign_id == campaign_id, GROUPS.c.group_id == group_id
                )
            ).first()
            previous = str(row[0]) if row else "scheduled"
            if previous != status:
                TimelineStore.set_group_status(conn, campaign_id, group_id, status, now)
        return previous

    def set_pickup(self, campaign_id: str, member_id: str, point: str, now: datetime) -> None:
        with self.write() as conn:
            table = PickupChoice.__table__  # type: ignore[attr-defined]
            updated = conn.execute(
                update(table)
                .where(table.c.campaign_id == campaign_id, table.c.member_id == member_id)
                .values(pickup_point=point, updated_at=now)
            )
            if not updated.rowcount:
                conn.execute(
                    insert(table).values(
                        campaign_id=campaign_id, member_id=member_id, pickup_point=point, updated_at=now
                    )
                )

    # -- reads ---------------------------------------------------------------------------
    def group_status(self, campaign_id: str, group_id: str) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(GROUPS.c.status).where(
                    GROUPS.c.campaign_id == campaign_id, GROUPS.c.group_id == group_id
                )
            ).first()
        return str(row[0]) if row else "scheduled"

    def stock(self, campaign_id: str) -> list[StockLine]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(STOCK).where(STOCK.c.campaign_id == campaign_id).order_by(STOCK.c.product_code)
            ).all()
        return [
            StockLine(r.product_code, r.name, r.price_cents, r.unit, r.limit_per_member, r.stock, r.total)
            for r in rows
        ]

    def chain(self, campaign_id: str, group_id: str) -> list[ChainEntry]:
        """The group's 接龙 list: a member's units of one product on one line, in order of first order."""
        first = func.min(ORDERS.c.id)
        query = (
            select(
                ORDERS.c.member_id,
                func.max(ORDERS.c.member_name),
                ORDERS.c.product_code,
                func.sum(ORDERS.c.quantity),
                first,
                func.max(ORDERS.c.id),
            )
            .where(
                ORDERS.c.campaign_id == campaign_id, ORDERS.c.group_id == group_id, ORDERS.c.status == ACTIVE
            )
            .group_by(ORDERS.c.member_id, ORDERS.c.product_code)
            .order_by(first)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [ChainEntry(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5])) for r in rows]

    def orders(
        self,
        campaign_id: str,
        *,
        group_id: str | None = None,
        member_id: str | None = None,
        product_code: str | None = None,
    ) -> list[OrderView]:
        query = select(
            ORDERS.c.id,
            ORDERS.c.group_id,
            ORDERS.c.member_id,
            ORDERS.c.member_name,
            ORDERS.c.product_code,
            ORDERS.c.quantity,
            ORDERS.c.unit_price_cents,
            ORDERS.c.created_at,
        ).where(ORDERS.c.campaign_id == campaign_id, ORDERS.c.status == ACTIVE)
        if group_id is not None:
            query = query.where(ORDERS.c.group_id == group_id)
        if member_id is not None:
            query = query.where(ORDERS.c.member_id == member_id)
        if product_code is not None:
            query = query.where(ORDERS.c.product_code == product_code)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(ORDERS.c.id)).all()
        return [OrderView(*r) for r in rows]

    def pickups(self, campaign_id: str) -> dict[str, str]:
        table = PickupChoice.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.member_id, table.c.pickup_point).where(table.c.campaign_id == campaign_id)
            ).all()
        return {r[0]: r[1] for r in rows}

    def group_statuses(self, campaign_id: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(GROUPS.c.group_id, GROUPS.c.status).where(GROUPS.c.campaign_id == campaign_id)
            ).all()
        return {r[0]: r[1] for r in rows}


class _Batch:
    """One transaction's worth of operations, with the rows it locked cached in memory."""

    def __init__(self, conn: Connection, sqlite: bool, now: datetime) -> None:
        self.conn = conn
        self.sqlite = sqlite
        self.now = now
        self.status: dict[tuple[str, str], str] = {}
        self.stock: dict[tuple[str, str], _Stock | None] = {}
        self.held: dict[tuple[str, str, str], int] = {}
        self.inserts: list[dict[str, Any]] = []

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


def sell_through(lines: list[StockLine]) -> float:
    """Share of all units made available that were sold (0..1)."""
    total = sum(line.total for line in lines)
    return sum(line.sold for line in lines) / total if total else 0.0


__all__ = [
    "ACTIVE",
    "CANCELLED",
    "CampaignStock",
    "CancelOrders",
    "ChainEntry",
    "LineResult",
    "OpResult",
    "Operation",
    "OrderRow",
    "OrderStore",
    "OrderView",
    "OversellError",
    "PickupChoice",
    "PlaceOrder",
    "Restock",
    "StockLine",
    "sell_through",
]
