"""Campaign results (战绩), leader stats and the fulfilment export, computed from the orders.

Pure computations over rows the store returns, so the same numbers feed the
closing post, `/stats` and the CSV. GMV is the gross value of active orders
(before 满减 and coupons), as group-buying operators quote it; what members
actually pay is in each member's quote.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from handlers.selling.store import OrderView, StockLine, sell_through


@dataclass(frozen=True)
class ProductSales:
    code: str
    name: str
    quantity: int
    gmv_cents: int
    sold: int
    total: int

    @property
    def sell_through(self) -> float:
        return self.sold / self.total if self.total else 0.0


@dataclass(frozen=True)
class Results:
    """Sales of a campaign, in one group or all of them."""

    orders: int
    buyers: int
    items: int
    gmv_cents: int
    products: tuple[ProductSales, ...]
    buyer_names: tuple[str, ...]
    sell_through: float

    @property
    def top(self) -> tuple[ProductSales, ...]:
        return tuple(p for p in sorted(self.products, key=lambda p: (-p.quantity, p.code)) if p.quantity)[:3]

    @property
    def aov_cents(self) -> int:
        """Average order value per buyer (客单价)."""
        return self.gmv_cents // self.buyers if self.buyers else 0


def compute_results(orders: Iterable[OrderView], stock: list[StockLine]) -> Results:
    """Results of `orders` (already filtered to a group or not); sell-through is campaign-wide."""
    rows = list(orders)
    quantity: Counter[str] = Counter()
    gmv: Counter[str] = Counter()
    names: dict[str, str] = {}
    for row in rows:
        quantity[row.product_code] += row.quantity
        gmv[row.product_code] += row.quantity * row.unit_price_cents
        names.setdefault(row.member_id, row.member_name)
    products = tuple(
        ProductSales(
            line.product_code,
            line.name,
            quantity[line.product_code],
            gmv[line.product_code],
            line.sold,
            line.total,
        )
        for line in stock
    )
    return Results(
        orders=len(rows),
        buyers=len(names),
        items=sum(quantity.values()),
        gmv_cents=sum(gmv.values()),
        products=products,
        buyer_names=tuple(names.values()),
        sell_through=sell_through(stock),
    )


@dataclass(frozen=True)
class Conversion:
    """Buyers over two denominators; templates say which is which."""

    buyers: int
    speakers: int
    members: int

    @property
    def of_speakers(self) -> float:
        return self.buyers / self.speakers if self.speakers else 0.0

    @property
    def of_members(self) -> float:
        return self.buyers / self.members if self.members else 0.0


EXPORT_HEADER = (
    "自提点",
    "群",
    "成员ID",
    "昵称",
    "商品编号",
    "商品",
    "数量",
    "单价",
    "金额",
    "下单时间",
)


def export_csv(
    orders: Iterable[OrderView],
    stock: list[StockLine],
    pickups: dict[str, str],
    group_names: dict[str, str],
    tz: tzinfo,
) -> tuple[str, int]:
    """Orders as CSV for fulfilment, sorted by pickup point, member and time; returns (text, rows)."""
    names = {line.product_code: line.name for line in stock}
    rows = sorted(
        orders, key=lambda o: (o.member_id not in pickups, pickups.get(o.member_id, ""), o.member_id, o.id)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    for row in rows:
        created: datetime = row.created_at.astimezone(tz)
        writer.writerow(
            [
                pickups.get(row.member_id, "未选择"),
                group_names.get(row.group_id, row.group_id),
                row.member_id,
                row.member_name,
                row.product_code,
                names.get(row.product_code, row.product_code),
                row.quantity,
                f"{row.unit_price_cents / 100:.2f}",
                f"{row.quantity * row.unit_price_cents / 100:.2f}",
                f"{created:%Y-%m-%d %H:%M:%S}",
            ]
        )
    return buffer.getvalue(), len(rows)
