"""What each member owes for a campaign: the priced orders, less refunds, against what was paid.

The price is selling's own quote (`handlers.selling.pricing.quote_member`: lines, 满减, one
coupon, red-packet credit), priced at the campaign's close instant, so once the close has
redeemed a member's coupon and credit the due is exactly what the close settled (the results
post and `tuanbot report` show the same fen). A refund from after-sales lowers the member's net;
a resend (补发) does not change what the member owes, it lowers the campaign's net (`campaign_net`).

Everything here reads the database: callers on the event loop use `asyncio.to_thread`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, union_all, update
from sqlalchemy.engine import Connection, Engine

from bot.campaign import Campaign
from bot.context import Services
from bot.storage.engine import connected
from handlers.fulfilment.adjustments import adjustments_of
from handlers.fulfilment.payment_tables import ADJUSTMENTS, PAYMENTS
from handlers.selling.chain import product_name
from handlers.selling.discounts import wallet_of, wallet_on
from handlers.selling.pricing import Quote, close_instant, extras_of
from handlers.selling.settlement import member_lines, member_quotes
from handlers.selling.store import OrderStore, OrderView

DueLine = tuple[str, str, int, int]  # (product code, product name, quantity, amount in fen)


@dataclass(frozen=True)
class Due:
    """One member's money for one campaign, in fen."""

    member_id: str
    member_name: str
    quote: Quote
    lines: tuple[DueLine, ...]
    refunded_cents: int = 0
    resent_cents: int = 0
    paid_cents: int = 0

    @property
    def net_cents(self) -> int:
        """What the member pays: the quote's total less refunds, never below 0."""
        return max(0, self.quote.total_cents - self.refunded_cents)

    @property
    def owed_cents(self) -> int:
        return max(0, self.net_cents - self.paid_cents)

    @property
    def paid(self) -> bool:
        return self.net_cents == 0 or self.paid_cents >= self.net_cents

    @property
    def quantity(self) -> int:
        return sum(line[2] for line in self.lines)


def priced_at(services: Services, campaign: Campaign) -> datetime:
    """The instant dues are priced at: now while the sale runs, the (effective) close after it."""
    closes_at = campaign.closes_at
    registry = services.campaigns
    if campaign.id in registry.campaigns:
        closes_at = registry.effective_times(campaign.id)[1]
    return close_instant(services.clock.now(), closes_at)


def paid_of(conn: Connection, campaign_id: str) -> dict[str, int]:
    """Member id -> fen recorded as paid for a campaign."""
    rows = conn.execute(
        select(PAYMENTS.c.member_id, PAYMENTS.c.paid_cents).where(PAYMENTS.c.campaign_id == campaign_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


_MONEY_ROWS = union_all(
    select(PAYMENTS.c.member_id).where(
        PAYMENTS.c.campaign_id == bindparam("campaign"), PAYMENTS.c.member_id == bindparam("member")
    ),
    select(ADJUSTMENTS.c.member_id).where(
        ADJUSTMENTS.c.campaign_id == bindparam("campaign"), ADJUSTMENTS.c.member_id == bindparam("member")
    ),
).limit(1)  # built once: building it per call cost more than running it


def has_money_rows(source: Engine | Connection, campaign_id: str, member_id: str) -> bool:
    """Whether any payment, refund or resend is recorded for the member in the campaign (one
    read of their own rows). Without one, their due has nothing paid or refunded to show, and
    我的订单 needs no quote for it while the sale is still open."""
    with connected(source) as conn:
        return conn.execute(_MONEY_ROWS, {"campaign": campaign_id, "member": member_id}).first() is not None


def _dues(
    services: Services, campaign: Campaign, conn: Connection, orders: list[OrderView], at: datetime | None
) -> dict[str, Due]:
    wallet = wallet_on(services, conn) if conn is not None else wallet_of(services)
    when = at if at is not None else priced_at(services, campaign)
    extras = extras_of(services, conn)
    quotes = member_quotes(wallet, campaign.id, campaign.spend_tiers, orders, when, extras=extras)
    names: dict[str, str] = {}
    for order in orders:
        names[order.member_id] = order.member_name or names.get(order.member_id, "")
    adjustments = adjustments_of(conn, campaign.id)
    paid = paid_of(conn, campaign.id)
    dues: dict[str, Due] = {}
    for member, lines in member_lines(orders).items():
        refunded, resent = adjustments.get(member, (0, 0))
        shown = tuple(
            (line.product_code, product_name(campaign, line.product_code), line.quantity, line.amount_cents)
            for line in lines
        )
        dues[member] = Due(
            member, names.get(member, ""), quotes[member], shown, refunded, resent, paid.get(member, 0)
        )
    return dues


def member_due(
    services: Services,
    campaign: Campaign,
    member_id: str,
    conn: Connection | None = None,
    *,
    at: datetime | None = None,
) -> Due | None:
    """The member's due for the campaign (all groups); None when they have no active order."""
    store = OrderStore(services.repo.engine)
    with store.reading(conn) as c:
        orders = store.orders(campaign.id, member_id=member_id, conn=c)
        if not orders:
            return None
        return _dues(services, campaign, c, orders, at).get(member_id)


def campaign_dues(
    services: Services,
    campaign: Campaign,
    conn: Connection | None = None,
    group_ids: Iterable[str] | None = None,
    *,
    at: datetime | None = None,
) -> dict[str, Due]:
    """Every buyer's due, by member id; with `group_ids`, only members who ordered in those groups
    (each still with their whole campaign: one quote, one pickup point per member)."""
    store = OrderStore(services.repo.engine)
    with store.reading(conn) as c:
        orders = store.orders(campaign.id, conn=c)
        if group_ids is not None:
            wanted = set(group_ids)
            members = {o.member_id for o in orders if o.group_id in wanted}
            orders = [o for o in orders if o.member_id in members]
        return _dues(services, campaign, c, orders, at)


def campaign_net(services: Services, campaign: Campaign, conn: Connection | None = None) -> int:
    """The campaign's net in fen after after-sales: members' nets (refunds taken off) less resends."""
    dues = campaign_dues(services, campaign, conn)
    return sum(d.net_cents for d in dues.values()) - sum(d.resent_cents for d in dues.values())


def record_payment(
    conn: Connection, campaign_id: str, member_id: str, cents: int, by: str, method: str, now: datetime
) -> bool:
    """Record the member as having paid `cents` (idempotent); False if that much was already recorded."""
    row = conn.execute(
        select(PAYMENTS.c.paid_cents).where(
            PAYMENTS.c.campaign_id == campaign_id, PAYMENTS.c.member_id == member_id
        )
    ).first()
    if row is not None and int(row[0]) >= cents:
        return False
    values = {"paid_cents": cents, "method": method, "marked_by": by, "marked_at": now}
    if row is None:
        conn.execute(insert(PAYMENTS).values(campaign_id=campaign_id, member_id=member_id, **values))
    else:
        conn.execute(
            update(PAYMENTS)
            .where(PAYMENTS.c.campaign_id == campaign_id, PAYMENTS.c.member_id == member_id)
            .values(**values)
        )
    return True


def owing(dues: dict[str, Due]) -> list[Due]:
    """Members who still owe something, the biggest first."""
    return sorted((d for d in dues.values() if d.owed_cents > 0), key=lambda d: (-d.owed_cents, d.member_id))


def by_product(dues: Iterable[Due]) -> dict[str, int]:
    """Units per product code over some dues."""
    units: dict[str, int] = defaultdict(int)
    for due in dues:
        for code, _, quantity, _ in due.lines:
            units[code] += quantity
    return dict(units)


__all__ = [
    "Due",
    "DueLine",
    "by_product",
    "campaign_dues",
    "campaign_net",
    "member_due",
    "owing",
    "paid_of",
    "priced_at",
    "record_payment",
]
