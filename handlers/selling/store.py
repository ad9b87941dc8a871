"""The one place that reads and writes stock and chain orders (接龙).

Why it looks like this:

* Writes come in batches from the single writer (`handlers.selling.order_writer`):
  each batch is one transaction (`handlers.selling.batch`), which on SQLite starts
  with ``BEGIN IMMEDIATE`` so it takes the write lock up front and waits (busy
  timeout) instead of failing on a lock upgrade. A batch that fails is rolled back
  and replayed one operation per transaction, so one bad order cannot sink its
  neighbours.
* The tables live in `handlers.selling.tables` and the operations and their
  results in `handlers.selling.ops`; both are re-exported here for the readers
  (monitoring, reports) that only need the store.
* Only Core statements: per-order ORM objects cost several times the SQL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select

from bot.campaign import Campaign
from bot.storage.engine import SQLITE_BEGIN_OPTION, connected
from bot.storage.write_lock import take_write_lock
from handlers.selling.batch import Batch, OversellError
from handlers.selling.chain_cache import ChainCache
from handlers.selling.chain_read import chains_of
from handlers.selling.ops import (
    BatchView,
    CancelOrders,
    ChainEntry,
    LineResult,
    Operation,
    OpResult,
    OrderView,
    PlaceOrder,
    Restock,
    StockLine,
    sell_through,
    touched,
)
from handlers.selling.remark_rows import (
    has_active_orders,
    latest_order,
    read_remarks,
    write_remarks,
)
from handlers.selling.tables import (
    ACTIVE,
    CANCELLED,
    GROUPS,
    ORDERS,
    STOCK,
    CampaignStock,
    OrderRemark,
    OrderRow,
    PickupChoice,
)

_STOCK_LINES = (
    select(STOCK).where(STOCK.c.campaign_id == bindparam("campaign")).order_by(STOCK.c.product_code)
)
"""Read back after every order batch: built once (docs/performance.md, the order writer's statements)."""

BatchExtension = Callable[[Connection, list[Operation], list[OpResult], datetime], None]
"""A feature's step in each order batch's transaction (`OrderStore.extend`); raising rolls the batch back."""


# --------------------------------------------------------------------------- the store

_PICKUPS = PickupChoice.__table__  # type: ignore[attr-defined]
_PICKUP_OF = select(_PICKUPS.c.pickup_point).where(
    _PICKUPS.c.campaign_id == bindparam("campaign"), _PICKUPS.c.member_id == bindparam("member")
)


@functools.cache
def _orders_query(by_group: bool, by_member: bool, by_product: bool) -> Select[Any]:
    """Active orders of a campaign, narrowed by the filters given, built once per shape with bound
    parameters: building a select and its cache key per read cost more than running it."""
    query = select(
        ORDERS.c.id,
        ORDERS.c.group_id,
        ORDERS.c.member_id,
        ORDERS.c.member_name,
        ORDERS.c.product_code,
        ORDERS.c.quantity,
        ORDERS.c.unit_price_cents,
        ORDERS.c.created_at,
    ).where(ORDERS.c.campaign_id == bindparam("campaign"), ORDERS.c.status == ACTIVE)
    if by_group:
        query = query.where(ORDERS.c.group_id == bindparam("group"))
    if by_member:
        query = query.where(ORDERS.c.member_id == bindparam("member"))
    if by_product:
        query = query.where(ORDERS.c.product_code == bindparam("product"))
    return query.order_by(ORDERS.c.id)


class OrderStore:
    """Orders and stock on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.extensions: list[BatchExtension] = []
        self.chain_cache = ChainCache(keep=self.sqlite)  # the lines read back last

    def extend(self, extension: BatchExtension) -> None:
        """Run `extension` in every order batch's own transaction, after the batch's writes.

        Why: a feature that must decide something by commit order (前N名赠礼) or keep a
        figure exactly in step with the orders writes in the same transaction, so its
        decision commits or rolls back with the orders themselves.
        """
        self.extensions.append(extension)

    def reading(self, conn: Connection | None) -> AbstractContextManager[Connection]:
        """`conn` when given (a node run reads in its claim's transaction), else a fresh connection."""
        return connected(conn if conn is not None else self.engine)

    @contextmanager
    def write(self, *, poll: bool = False) -> Iterator[Connection]:
        """A write transaction holding the write lock from its first statement (SQLite: BEGIN IMMEDIATE).

        `poll` (the order writer's batches): ask for the lock every millisecond instead of
        waiting in SQLite's busy handler, which sleeps up to 100 ms between tries and so lost
        the lock, for seconds in a flash sale, to the process's other writer threads (the
        inbound log, the outbox rows) that take it again within microseconds of releasing it.
        """
        with self.engine.connect() as conn:
            if self.sqlite and not poll:
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            conn.begin()
            if self.sqlite and poll:
                take_write_lock(conn)
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
            with self.write(poll=True) as conn:
                return self._run(conn, ops, now)
        except Exception:
            if len(ops) == 1:
                raise
        results = []
        for op in ops:
            try:
                with self.write() as conn:
                    results.extend(self._run(conn, [op], now))
            except Exception:
                logger.opt(exception=True).error("order operation failed and was rolled back: {}", op)
                results.append(OpResult("error"))
        return results

    def _run(self, conn: Connection, ops: list[Operation], now: datetime) -> list[OpResult]:
        results = Batch(conn, self.sqlite, now).run(ops)
        for extension in self.extensions:
            extension(conn, ops, results, now)
        return results

    def after_batch(self, ops: list[Operation], results: list[OpResult]) -> BatchView:
        """Read back what a committed batch changed (in the writer's thread, right after it)."""
        campaigns, chains = touched(ops, results)
        view = BatchView()
        by_campaign: dict[str, dict[str, set[str]]] = {}
        for (campaign_id, group_id), members in sorted(chains.items()):
            by_campaign.setdefault(campaign_id, {})[group_id] = members
        with self.engine.connect() as conn:
            for campaign_id in sorted(campaigns):
                view.stock[campaign_id] = self.stock(campaign_id, conn)
            for campaign_id, members_by_group in by_campaign.items():
                found = self.chain_cache.read(conn, campaign_id, members_by_group)
                for group_id in members_by_group:
                    view.chains[(campaign_id, group_id)] = found.get(group_id, [])
        return view

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
            updated = conn.execute(
                update(_PICKUPS)
                .where(_PICKUPS.c.campaign_id == campaign_id, _PICKUPS.c.member_id == member_id)
                .values(pickup_point=point, updated_at=now)
            )
            if not updated.rowcount:
                conn.execute(
                    insert(_PICKUPS).values(
                        campaign_id=campaign_id, member_id=member_id, pickup_point=point, updated_at=now
                    )
                )

    def set_remark(self, campaign_id: str, member_id: str, text: str, now: datetime) -> bool:
        """Store a member's remark (replacing the previous one) if they hold an active order in
        the campaign; False, and nothing written, if they do not (order first, then remark)."""
        with self.write() as conn:
            if not has_active_orders(conn, campaign_id, member_id):
                return False
            write_remarks(conn, {(campaign_id, member_id): text}, now)
        return True

    # -- reads ---------------------------------------------------------------------------
    def remarks(self, campaign_id: str, conn: Connection | None = None) -> dict[str, str]:
        """Every member's remark (备注) in a campaign, member_id -> text, in one query.

        Private text (rooms, phones): for the leader's lists and the member, never a group post.
        """
        with self.reading(conn) as conn:
            return read_remarks(conn, campaign_id)

    def remark(self, campaign_id: str, member_id: str, conn: Connection | None = None) -> str:
        """One member's remark in a campaign ("" when none)."""
        with self.reading(conn) as conn:
            return read_remarks(conn, campaign_id, member_id).get(member_id, "")

    def latest_order(
        self, member_id: str, campaign_ids: Sequence[str], group_id: str = ""
    ) -> tuple[str, str] | None:
        """(campaign, group) of the member's most recent active order among `campaign_ids` (in
        `group_id` when given); None when they bought nothing there."""
        with self.engine.connect() as conn:
            return latest_order(conn, member_id, campaign_ids, group_id)

    def group_status(self, campaign_id: str, group_id: str, conn: Connection | None = None) -> str:
        with self.reading(conn) as conn:
            row = conn.execute(
                select(GROUPS.c.status).where(
                    GROUPS.c.campaign_id == campaign_id, GROUPS.c.group_id == group_id
                )
            ).first()
        return str(row[0]) if row else "scheduled"

    def stock(self, campaign_id: str, conn: Connection | None = None) -> list[StockLine]:
        with self.reading(conn) as conn:
            rows = conn.execute(_STOCK_LINES, {"campaign": campaign_id}).all()
        return [
            StockLine(r.product_code, r.name, r.price_cents, r.unit, r.limit_per_member, r.stock, r.total)
            for r in rows
        ]

    def chain(self, campaign_id: str, group_id: str) -> list[ChainEntry]:
        """The group's 接龙 list: a member's units of one product on one line, in order of first order."""
        with self.engine.connect() as conn:
            return chains_of(conn, campaign_id, [group_id], one_row=self.sqlite).get(group_id, [])

    def orders(
        self,
        campaign_id: str,
        *,
        group_id: str | None = None,
        member_id: str | None = None,
        product_code: str | None = None,
        conn: Connection | None = None,
    ) -> list[OrderView]:
        filters = {"group": group_id, "member": member_id, "product": product_code}
        params = {"campaign": campaign_id, **{k: v for k, v in filters.items() if v is not None}}
        query = _orders_query(*(v is not None for v in filters.values()))
        with self.reading(conn) as conn:
            rows = conn.execute(query, params).all()
        return [OrderView(*r) for r in rows]

    def pickups(self, campaign_id: str, conn: Connection | None = None) -> dict[str, str]:
        """member_id -> the pickup point the member chose (自提 东门) in a campaign."""
        with self.reading(conn) as conn:
            rows = conn.execute(
                select(_PICKUPS.c.member_id, _PICKUPS.c.pickup_point).where(
                    _PICKUPS.c.campaign_id == campaign_id
                )
            ).all()
        return {r[0]: r[1] for r in rows}

    def pickup_of(self, campaign_id: str, member_id: str) -> str:
        """The pickup point one member chose in a campaign ("" for none): 我的订单 reads one row,
        not every member's choice."""
        with self.engine.connect() as conn:
            found = conn.execute(_PICKUP_OF, {"campaign": campaign_id, "member": member_id}).scalar()
        return found or ""

    def all_group_statuses(self, campaign_ids: list[str] | None = None) -> dict[tuple[str, str], str]:
        """Every (campaign, group) ordering state, in one query (read once at start-up); with
        `campaign_ids`, only theirs (the peer sync's read, every second: not every past sale)."""
        query = select(GROUPS.c.campaign_id, GROUPS.c.group_id, GROUPS.c.status)
        if campaign_ids is not None:
            query = query.where(GROUPS.c.campaign_id.in_(campaign_ids))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {(r[0], r[1]): r[2] for r in rows}

    def group_statuses(self, campaign_id: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(GROUPS.c.group_id, GROUPS.c.status).where(GROUPS.c.campaign_id == campaign_id)
            ).all()
        return {r[0]: r[1] for r in rows}


__all__ = [
    "ACTIVE",
    "CANCELLED",
    "CampaignStock",
    "CancelOrders",
    "ChainEntry",
    "LineResult",
    "OpResult",
    "Operation",
    "OrderRemark",
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
