"""The 接龙 list of each group: rendered from the committed orders, posted at most once per window.

After each batch that changed a group's orders, the group's list is queued with its text
rendered now, or, while one is still queued, that one is only marked stale
(`Outbox.mark_stale`) with the entries the writer just read back, and it is rendered once,
from the newest committed entries, as the outbox sends it (`render_queued`). A batch
commits every few milliseconds in a sale and the account sends at most 30 posts a minute,
so rendering after every batch threw nearly every rendering away (~300 µs a group on the
event loop). At most one list leaves per `CHAIN_WINDOW` per group, and the lines newer
than the last list that left are marked new. A burst of hundreds of orders therefore
costs a handful of posts, and as many renderings.

The queued row keeps the text of its first rendering (always a whole list, never torn)
until it is marked `sending`, when the text that leaves is written with the mark. After
a restart the outbox counts a loaded list as stale, and `render_queued` renders it from
the orders committed by then (read once, as it leaves); only if that campaign is no
longer loaded does the stored text leave as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.campaign import Campaign
from bot.outbox import Outbox
from bot.outbox_pick import Queued
from bot.vocab import Priority
from handlers.selling.ops import ChainEntry
from handlers.selling.store import OrderStore

CHAIN_WINDOW = 5.0  # seconds: at most one 接龙 list per group this often
CHAIN_MAX_LINES = 40  # a longer list shows its newest lines (WeChat messages have a length limit)

Render = Callable[..., str]


@dataclass
class ChainState:
    outbox_id: int | None = None
    queued_upto: int = 0  # newest order id in the queued list
    posted_upto: int = 0  # newest order id in the last list that left: newer ones are marked new
    entries: list[ChainEntry] | None = None  # as last committed, for the queued list's rendering at send


def product_name(campaign: Campaign, code: str) -> str:
    product = campaign.product(code)
    return product.name if product is not None else code


class ChainLists:
    """The queued 接龙 list of every (campaign, group) of this process."""

    def __init__(
        self,
        outbox: Outbox,
        store: OrderStore,
        render: Render,
        campaign_of: Callable[[str], Campaign | None],
    ) -> None:
        self.outbox = outbox
        self.store = store
        self.render = render
        self.campaign_of = campaign_of
        self.states: dict[tuple[str, str], ChainState] = {}
        outbox.render_at_send("chain", self.render_queued)

    def refresh(self, campaign_id: str, group_id: str, entries: list[ChainEntry] | None = None) -> None:
        """Queue (or replace the queued) list of a group; `entries` as just committed, else read."""
        campaign = self.campaign_of(campaign_id)
        if campaign is None:
            return
        if entries is None:
            entries = self.store.chain(campaign_id, group_id)
        state = self.states.setdefault((campaign_id, group_id), ChainState())
        if not entries:  # everything was cancelled: an empty list says nothing
            self._drop_queued(campaign_id, group_id, state)
            return
        if state.outbox_id is not None and self.outbox.mark_stale(state.outbox_id):
            state.entries = entries  # the queued list is rendered from these as it leaves
            state.queued_upto = max((e.last_id for e in entries), default=state.queued_upto)
            return
        state.posted_upto = state.queued_upto  # a new list: what the last one showed is no longer new
        state.entries = None
        state.outbox_id = self.outbox.enqueue(
            self.text(campaign, entries, state.posted_upto),
            group_id=group_id,
            replace_key=f"chain:{campaign_id}",
            delay=CHAIN_WINDOW,
            priority=Priority.ORDER,
            kind="chain",
        )
        state.queued_upto = max((e.last_id for e in entries), default=state.queued_upto)

    def render_queued(self, item: Queued) -> tuple[str, tuple[str, ...]] | None:
        """A stale queued list's text as it leaves (the outbox's renderer of kind "chain").

        A list this process queued is rendered from the entries of the last batch that
        touched the group; one loaded after a restart from the orders committed now. None
        (send the stored text) if its campaign is not loaded or no order is left.
        """
        campaign_id = item.replace_key.removeprefix("chain:")
        campaign = self.campaign_of(campaign_id) if item.replace_key.startswith("chain:") else None
        if campaign is None:
            return None
        state = self.states.get((campaign_id, item.group_id))
        if state is not None and state.outbox_id == item.id and state.entries is not None:
            entries, new_after = state.entries, state.posted_upto
        else:
            entries, new_after = self.store.chain(campaign_id, item.group_id), None
        if not entries:
            return None
        return self.text(campaign, entries, new_after), ()

    def _drop_queued(self, campaign_id: str, group_id: str, state: ChainState) -> None:
        """Cancel the group's still-queued list, which shows orders that are gone.

        The outbox cancels by kind, so another campaign's queued list in the same group
        goes too and is queued again here (rendered afresh from its orders).
        """
        if state.outbox_id is None:
            return
        state.outbox_id = None
        if not self.outbox.cancel_queued(group_id=group_id, kind="chain"):
            return
        for (other_id, other_group), other in list(self.states.items()):
            if other_group == group_id and other_id != campaign_id and other.outbox_id is not None:
                other.outbox_id = None
                self.refresh(other_id, group_id)

    def text(
        self,
        campaign: Campaign,
        entries: list[ChainEntry],
        new_after: int | None = None,
        max_lines: int = CHAIN_MAX_LINES,
        product_code: str | None = None,
    ) -> str:
        """The list as a post: numbered lines (the newest `max_lines`), totals per product."""
        rows: list[dict[str, Any]] = []
        for number, entry in enumerate(entries, start=1):
            if product_code is not None and entry.product_code != product_code:
                continue
            product = campaign.product(entry.product_code)
            rows.append(
                {
                    "number": number,
                    "name": entry.member_name,
                    "code": entry.product_code,
                    "product": product.name if product else entry.product_code,
                    "quantity": entry.quantity,
                    "new": new_after is not None and entry.last_id > new_after,
                }
            )
        totals: dict[str, int] = {}
        for row in rows:
            totals[row["code"]] = totals.get(row["code"], 0) + row["quantity"]
        hidden = max(0, len(rows) - max_lines)
        return self.render(
            "orders/chain_list.j2",
            title=campaign.title,
            rows=rows[hidden:],
            hidden=hidden,
            totals=[(code, product_name(campaign, code), n) for code, n in sorted(totals.items())],
            example=campaign.products[0].code,
        )


__all__ = ["CHAIN_MAX_LINES", "CHAIN_WINDOW", "ChainLists", "ChainState", "product_name"]
