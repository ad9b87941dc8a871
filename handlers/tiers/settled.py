"""The member discount (会员折扣) a close priced each buyer with, kept so every later quote agrees.

Why: the tiers book answers a member's perks *now*, and a close promotes its buyers right after it
priced them. Priced later with the tier held now, the same campaign read one figure in its results
post and another in `tuanbot report`, the leader's lists, the board and the buyer's 我的订单 (and a
lapsed VIP would lose a discount already announced). Coupons and points already keep what the
close settled; this does the same for the member discount.

The close's tiers hook (`handlers.tiers.closing`) writes, before it recomputes anyone, one row per
buyer of the closing group with the percent selling's hook has just priced them with (the book is
changed only after the commit, so that is the book's answer now). A buyer of several groups is
settled by the first close (`ON CONFLICT DO NOTHING`), and the later closes price with that row.
Pricing reads the rows through `SettledPerks`, which `TierBook.on(source)` gives the pricing paths
(`handlers.selling.discounts.bound_to`); the order path on the event loop keeps asking the book
(early access and the extra limit are not settled, and it must not read the database).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from bot.storage.engine import connected, upsert_insert
from handlers.selling.perks import MemberPerks, Perks
from handlers.tiers.tables import DISCOUNTS

Settled = tuple[int, str]  # (percent, tier name)


def settle_in(
    conn: Connection, perks: MemberPerks, campaign_id: str, members: Iterable[str], now: datetime
) -> None:
    """Keep the discount each of `members` is priced with now, unless a close already kept one."""
    rows = []
    for member_id in sorted(set(members)):
        held = perks.perks(member_id, campaign_id)
        rows.append(
            {
                "campaign_id": campaign_id,
                "member_id": member_id,
                "percent": held.discount_percent,
                "tier": held.tier if held.discount_percent else "",
                "settled_at": now,
            }
        )
    if rows:
        conn.execute(upsert_insert(conn)(DISCOUNTS).on_conflict_do_nothing(), rows)


class SettledPerks:
    """`MemberPerks` for pricing: the book's perks, with the discount a close settled, if one did.

    Reads through `source` (a close's transaction, whose own rows it must see, or the engine).
    One member's quote reads that member's row; `preload` reads a campaign's rows at once for
    the paths that price every buyer (a close, the report, the board)."""

    def __init__(self, perks: MemberPerks, source: Engine | Connection) -> None:
        self.base, self.source = perks, source
        self._campaigns: dict[str, dict[str, Settled]] = {}
        self._members: dict[tuple[str, str], Settled | None] = {}

    def preload(self, campaign_id: str) -> None:
        query = select(DISCOUNTS.c.member_id, DISCOUNTS.c.percent, DISCOUNTS.c.tier).where(
            DISCOUNTS.c.campaign_id == campaign_id
        )
        with connected(self.source) as conn:
            self._campaigns[campaign_id] = {r.member_id: (r.percent, r.tier) for r in conn.execute(query)}

    def perks(self, member_id: str, campaign_id: str) -> Perks:
        held = self.base.perks(member_id, campaign_id)
        settled = self._settled(member_id, campaign_id)
        if settled is None:
            return held
        return replace(held, discount_percent=settled[0], tier=settled[1])

    def _settled(self, member_id: str, campaign_id: str) -> Settled | None:
        preloaded = self._campaigns.get(campaign_id)
        if preloaded is not None:
            return preloaded.get(member_id)
        key = (campaign_id, member_id)
        if key not in self._members:
            query = select(DISCOUNTS.c.percent, DISCOUNTS.c.tier).where(
                DISCOUNTS.c.campaign_id == campaign_id, DISCOUNTS.c.member_id == member_id
            )
            with connected(self.source) as conn:
                row = conn.execute(query).first()
            self._members[key] = (row.percent, row.tier) if row is not None else None
        return self._members[key]


__all__ = ["SettledPerks", "settle_in"]
