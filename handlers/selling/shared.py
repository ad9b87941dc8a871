"""Selling's memory that other account processes' writes move: group states and the stock shown.

The scheduler may run in another account's process: it opens and closes groups this process
serves, and other processes' orders take stock. Orders are right whatever this memory says
(the writer re-reads states and stock, locked, in its transaction); the memory decides the
quick answers ("还没开团哦", the stock a post shows), so it follows the table once a second.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.selling.ops import StockLine
from handlers.selling.service import Selling

Snapshot = tuple[dict[tuple[str, str], str], dict[str, list[StockLine]]]


@dataclass
class SellingShared:
    """`bot.shared_state.SharedState` of the sale: states and stock of the loaded campaigns."""

    selling: Selling

    def read(self) -> Snapshot:
        store = self.selling.store
        campaigns = list(self.selling.registry.campaigns) if self.selling.registry is not None else []
        return store.all_group_statuses(campaigns), {cid: store.stock(cid) for cid in campaigns}

    def apply(self, snapshot: Snapshot) -> None:
        statuses, stock = snapshot
        for (campaign_id, group_id), status in statuses.items():
            if self.selling.hints.get((campaign_id, group_id)) != status:
                self.selling.state_moved(campaign_id, group_id, status)
        for campaign_id, lines in stock.items():
            if lines:
                self.selling.mirror_stock(campaign_id, lines)
