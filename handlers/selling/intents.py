"""The order handler's matcher: decides on the event loop, from memory, whether a message is an order.

Why: `handle_order` has no pattern (an order is "A1 2", "+1", "草莓 2", …), so before this
matcher its body, `pick` and the order parser ran for every group message, chatter
included. `match_order` runs instead, and the body runs only on what it returns:

* `OrderIntent` with `parsed` set: the text is an order for the group's campaign (in any
  state: before the opening or after the close the body still answers 还没开团/已截单);
  A remark after the order (`A1 2 备注 3栋502`) is split off by a string operation and
  carried as `remark`;
* `OrderIntent` with only `mentioned` set: chatter naming a product, remembered by the body
  so that a following "+1" means that product (the body then declines the message);
* `DEFER`: this app has no status memory for the matcher to decide from (the selling
  feature's `setup` did not run, e.g. a test built from bare modules): the body decides
  exactly as before;
* None: chatter in a group with no campaign, or text that is neither an order nor names a
  product. No body runs.

The matcher reads only memory: the group's campaigns from the view (memoised by the
campaign runtime), the group's ordering state from `Selling.hints` (complete from
`App.build` on, see `Selling.load_statuses`), and the campaign's catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from bot.campaign import Campaign
from bot.events import GroupMessage
from bot.view import MessageView
from handlers.selling.parse import (
    Catalog,
    ParsedOrder,
    nfkc_upper,
    normalize,
    parse_normalized,
    split_remark,
)
from handlers.selling.service import Selling

MENTION_MAX_CHARS = 200
"""Longer chatter is not searched for a product name (as before the matcher)."""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the matcher found: the group's campaign and its state, and the order or the product named."""

    campaign: Campaign
    status: str
    catalog: Catalog
    parsed: ParsedOrder | None = None
    mentioned: str | None = None
    remark: str = ""  # the order's 备注 (`A1 2 备注 3栋502`): stored with it, never posted


class _Defer:
    """The matcher could not decide from memory: the handler body decides as it always did."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFER"


DEFER: Final = _Defer()


def match_order(msg: GroupMessage, view: Any) -> OrderIntent | _Defer | None:
    """An order (or a product named in chatter) in a group with a campaign; None for the rest."""
    if not isinstance(view, MessageView):
        return DEFER
    if not view.campaigns:  # no loaded campaign runs in this group: `pick` would say None
        return None
    sell = view.service(Selling)
    if sell is None or not sell.statuses_loaded:
        return DEFER
    # Memory only once the states are loaded; the view's NFKC text is shared with the other matchers.
    return order_intent(sell, msg.group_id, msg.text, view.nfkc)


def order_intent(sell: Selling, group_id: str, text: str, nfkc: str | None = None) -> OrderIntent | None:
    """What `text` is for the group's campaign: an order, a product named, or nothing.

    The matcher calls it from memory; the handler body calls it for `DEFER` (then `pick`
    may read the group's state), so both decide with the same parse. `nfkc`: the text in
    NFKC already (the matcher's view has it), so it is not worked out twice.
    """
    picked = sell.pick(group_id)
    if picked is None:
        return None
    campaign, status = picked
    catalog = sell.catalog(campaign)
    order_text, remark = split_remark(text)
    if remark is not None and not order_text:
        return None  # a remark on its own (备注 放门口): `handle_remark`, not an order
    norm = nfkc_upper(nfkc) if remark is None and nfkc is not None else normalize(order_text)
    parsed = parse_normalized(norm, catalog) if catalog.could_be_order(norm) else None
    if parsed is not None:
        return OrderIntent(campaign, status, catalog, parsed, remark=remark or "")
    if remark is not None:
        norm = normalize(text)
    mentioned = catalog.mentioned_in(norm) if len(text) <= MENTION_MAX_CHARS else None
    if mentioned is not None:
        return OrderIntent(campaign, status, catalog, mentioned=mentioned)
    return None


__all__ = ["DEFER", "MENTION_MAX_CHARS", "OrderIntent", "match_order", "order_intent"]
