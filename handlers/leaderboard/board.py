"""The figures of a 实时销量榜, computed from what the sale already keeps (pure: no reads).

Products are ranked by units sold across all groups (the campaign-wide stock lines: total minus
left); groups by their active orders' units or GMV. Members never appear: a group sees product
and group totals only. The digest names exactly what a board shows, so two broadcasts with the
same figures post one board.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from bot.campaign.leaderboard_models import LiveBoard
from handlers.selling.ops import OrderView, StockLine


@dataclass(frozen=True)
class ProductFigure:
    code: str
    name: str
    unit: str
    sold: int


@dataclass(frozen=True)
class GroupFigure:
    group_id: str
    name: str
    units: int
    gmv_cents: int


@dataclass(frozen=True)
class Board:
    products: tuple[ProductFigure, ...]
    groups: tuple[GroupFigure, ...]  # empty: no comparison (one group, or turned off)
    by: str

    @property
    def empty(self) -> bool:
        """Nothing sold yet: a board of zeros encourages nobody."""
        return not self.products

    def digest(self) -> str:
        """What the board shows, hashed (the group it is posted to marks itself in the text only)."""
        raw = json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def board_of(
    section: LiveBoard,
    stock: Sequence[StockLine],
    orders: Sequence[OrderView],
    groups: Sequence[str],
    names: Mapping[str, str],
) -> Board:
    """The campaign's board: its top products and, across several groups, the groups ranked."""
    sold = [line for line in stock if line.sold > 0]
    ranked = sorted(sold, key=lambda line: (-line.sold, line.product_code))[: section.top]
    products = tuple(ProductFigure(p.product_code, p.name, p.unit, p.sold) for p in ranked)
    compared: tuple[GroupFigure, ...] = ()
    if section.compare_groups and len(groups) > 1:
        units = dict.fromkeys(groups, 0)
        gmv = dict.fromkeys(groups, 0)
        for order in orders:
            if order.group_id in units:
                units[order.group_id] += order.quantity
                gmv[order.group_id] += order.quantity * order.unit_price_cents
        by_units = section.rank_groups_by == "units"
        order_of = sorted(groups, key=lambda g: (-(units[g] if by_units else gmv[g]), -units[g], g))
        compared = tuple(GroupFigure(g, names.get(g, g), units[g], gmv[g]) for g in order_of)
    return Board(products, compared, section.rank_groups_by)


__all__ = ["Board", "GroupFigure", "ProductFigure", "board_of"]
