"""On what terms a member may order now: their perks (`handlers.selling.perks`) and the 返场's.

Why here and not in the batch: the batch runs in the writer's thread and must not ask other
features anything; the handler asks once, from memory, while it builds the `PlaceOrder`, and
the batch applies what the op carries only when the group's state read inside its transaction
agrees (an early order while still "scheduled", 返场 terms while "reopen").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.campaign import Campaign
from handlers.selling.ops import ReopenTerms
from handlers.selling.perks import NO_PERKS, MemberPerks, Perks
from handlers.selling.service import Selling
from handlers.selling.tables import REOPEN

__all__ = ["OrderTerms", "member_perks", "order_terms", "reopen_terms"]

_TERMS: dict[str, tuple[Campaign, ReopenTerms]] = {}


@dataclass(frozen=True)
class OrderTerms:
    """What the `PlaceOrder` carries besides the lines (its fields of the same names)."""

    extra_limit: int = 0
    early_from: datetime | None = None
    reopen: ReopenTerms | None = None


def member_perks(sell: Selling, member_id: str, campaign_id: str) -> Perks:
    """The member's perks from the registered provider (the tiers feature); none without one."""
    provider = sell.services.find(MemberPerks)  # type: ignore[type-abstract]  # a protocol is the key
    return provider.perks(member_id, campaign_id) if provider is not None else NO_PERKS


def reopen_terms(campaign: Campaign) -> ReopenTerms | None:
    """The campaign's 返场 prices (fen, per product) and 买赠 rule; memoised per loaded version."""
    section = campaign.reopen
    if section is None or not section.enabled:
        return None
    cached = _TERMS.get(campaign.id)
    if cached is not None and cached[0] is campaign:
        return cached[1]
    prices = tuple((p.code, section.price_cents(p.code, p.price_cents)) for p in campaign.products)
    rule = section.buy_get
    terms = ReopenTerms(prices, rule.buy if rule else 0, rule.get if rule else 0)
    _TERMS[campaign.id] = (campaign, terms)
    return terms


def order_terms(
    sell: Selling, campaign: Campaign, status: str, member_id: str, now: datetime
) -> OrderTerms | None:
    """The terms of the member's order in a group in state `status`; None when they may not order.

    Open: their extra limit. 返场: that and the 返场's prices and 买赠. Scheduled: only a member
    with early access (优先抢购权), from T minus their minutes on; closed: nobody.
    """
    if status == "closed":
        return None
    perks = member_perks(sell, member_id, campaign.id)
    if status == "open":
        return OrderTerms(perks.extra_limit)
    if status == REOPEN:
        terms = reopen_terms(campaign)
        return OrderTerms(perks.extra_limit, reopen=terms) if terms is not None else None
    if perks.early_minutes <= 0:
        return None
    early_from = sell.times(campaign)[0] - timedelta(minutes=perks.early_minutes)
    return OrderTerms(perks.extra_limit, early_from=early_from) if now >= early_from else None
