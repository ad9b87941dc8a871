"""What the order writer is asked to do, and what it answers (plain values, no database).

The handlers build operations; the single writer (`handlers.selling.order_writer`)
applies them in batches and hands each caller an `OpResult` only after the commit.
Reads of the store return the views defined here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ReopenTerms:
    """What a 限时返场 order pays (`bot.campaign.reopen_models.Reopen`, resolved to fen).

    Carried on the order, and applied by the batch only when the group's state, read inside
    its transaction, is "reopen": an order racing the reopen's close pays nothing it should not.
    """

    prices: tuple[tuple[str, int], ...] = ()  # (code, fen) for every product of the campaign
    buy: int = 0  # 买赠: every `buy` units paid in one order line earn `get` free units
    get: int = 0

    def price(self, code: str, sale_cents: int) -> int:
        return next((cents for known, cents in self.prices if known == code), sale_cents)

    def free_for(self, paid: int) -> int:
        return (paid // self.buy) * self.get if self.buy > 0 and self.get > 0 else 0


@dataclass(frozen=True)
class PlaceOrder:
    """A member's order message: one or more (product code, quantity) lines.

    The service fills the member's perks (`handlers.selling.perks`) when it builds the op:
    `extra_limit` raises every per-member limit, `early_from` (T - early minutes) lets the
    order in while the group is still "scheduled"; `reopen` carries the 返场 terms.
    """

    campaign_id: str
    group_id: str
    member_id: str
    member_name: str
    lines: tuple[tuple[str, int], ...]
    at: datetime
    remark: str = ""  # 备注 typed with the order: stored in the same transaction if a line is filled
    extra_limit: int = 0
    early_from: datetime | None = None
    reopen: ReopenTerms | None = None


@dataclass(frozen=True)
class CancelOrders:
    """Cancel a member's active orders in a group: one product, or all when `product_code` is None."""

    campaign_id: str
    group_id: str
    member_id: str
    product_code: str | None
    at: datetime
    name: str = ""  # the sender's display name as the message gave it (the members table is written behind)


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
    free: int = 0  # 买赠 units given on top of `filled` (a 返场 order), at price 0


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


def sell_through(lines: list[StockLine]) -> float:
    """Share of all units made available that were sold (0..1)."""
    total = sum(line.total for line in lines)
    return sum(line.sold for line in lines) / total if total else 0.0


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


@dataclass
class BatchView:
    """What a committed batch changed, read by the writer thread right after the commit.

    The selling runtime answers the batch from it (stock mirror, 接龙 lists), so the
    answer costs no database read on the event loop.
    """

    stock: dict[str, list[StockLine]] = field(default_factory=dict)
    chains: dict[tuple[str, str], list[ChainEntry]] = field(default_factory=dict)


def touched(
    ops: list[Operation], results: list[OpResult]
) -> tuple[set[str], dict[tuple[str, str], set[str]]]:
    """Campaigns whose stock, and (campaign, group) pairs whose 接龙 list, a batch changed; with
    each pair, the members whose orders there changed."""
    campaigns: set[str] = set()
    chains: dict[tuple[str, str], set[str]] = {}
    for op, result in zip(ops, results, strict=True):
        if (isinstance(op, PlaceOrder) and result.filled) or (
            isinstance(op, CancelOrders) and result.cancelled
        ):
            chains.setdefault((op.campaign_id, op.group_id), set()).add(op.member_id)
            campaigns.add(op.campaign_id)
        elif isinstance(op, Restock) and result.status == "ok":
            campaigns.add(op.campaign_id)
    return campaigns, chains


__all__ = [
    "BatchView",
    "CancelOrders",
    "ChainEntry",
    "LineResult",
    "OpResult",
    "Operation",
    "OrderView",
    "PlaceOrder",
    "ReopenTerms",
    "Restock",
    "StockLine",
    "sell_through",
    "touched",
]
