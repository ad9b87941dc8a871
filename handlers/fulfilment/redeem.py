"""核销: checking a pickup code off, once, and what the clerk is told about it.

The pickup is recorded with one conditional UPDATE (`... WHERE picked_at IS NULL`): of two
clerks (or two taps) racing the same code exactly one changes the row, on SQLite and on
PostgreSQL alike, and the other is told when and by whom the goods went. When the campaign
is paid on pickup, the payment is recorded in the same transaction, so a pickup never stands
without its payment or the other way round.

A clerk sees only codes of their own points, and of buyers who chose none (served wherever they
come): a code of another point is refused without a word about whose it is. Everything here
reads or writes the database: run it off the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from bot.campaign import Campaign
from bot.context import Services
from handlers.fulfilment.codes import PickupCode, row_to_code
from handlers.fulfilment.dues import Due, member_due, record_payment
from handlers.fulfilment.pickup_tables import CODES
from handlers.selling.parse import safe_name
from handlers.selling.service import selling

Outcome = Literal["ok", "unknown", "other_point", "used"]


@dataclass(frozen=True)
class Checked:
    """What a 核销 attempt came to, with what the clerk needs to hand the goods over."""

    outcome: Outcome
    code: PickupCode | None = None
    campaign: Campaign | None = None
    member_name: str = ""
    lines: list[tuple[str, str, int]] = field(default_factory=list)  # (product code, name, quantity)
    total_cents: int = 0  # the orders' value when no due can be priced (campaign not loaded)
    remark: str = ""
    due: Due | None = None
    collect_cents: int = 0  # paid on pickup: what the clerk takes now (recorded as paid)


def candidates(conn: Connection, code: str) -> list[PickupCode]:
    """Every campaign's row with this code, the newest first (a code is unique per campaign only)."""
    rows = conn.execute(
        select(CODES).where(CODES.c.code == code).order_by(CODES.c.issued_at.desc(), CODES.c.id.desc())
    )
    return [row_to_code(r) for r in rows.all()]


def choose(found: list[PickupCode], points: set[str] | None) -> tuple[Outcome, PickupCode | None]:
    """The row a clerk with `points` (None: any point, an admin) may check off.

    Not one at their points: "other_point" if the code exists elsewhere (whose, unsaid),
    else "unknown". A buyer who never chose a point is served wherever they come. Of theirs,
    one still waiting comes before ones already picked up.
    """
    if not found:
        return "unknown", None
    mine = [c for c in found if points is None or not c.point or c.point in points]
    if not mine:
        return "other_point", None
    waiting = [c for c in mine if c.picked_at is None]
    return ("ok", waiting[0]) if waiting else ("used", mine[0])


def check_off(
    services: Services, code: str, clerk_id: str, clerk_name: str, points: set[str] | None
) -> Checked:
    """Record the pickup of `code` by `clerk_id` once; say what it was (see the module docstring)."""
    engine = services.repo.engine
    now = services.clock.now()
    with engine.connect() as conn:
        outcome, row = choose(candidates(conn, code), points)
    if row is None:
        return Checked(outcome)
    campaign = selling(services).campaign(row.campaign_id)
    if outcome == "used":
        return Checked("used", row, campaign)
    with engine.begin() as conn:
        won = conn.execute(
            update(CODES)
            .where(
                CODES.c.campaign_id == row.campaign_id, CODES.c.code == row.code, CODES.c.picked_at.is_(None)
            )
            .values(picked_at=now, picked_by=clerk_id, picked_by_name=safe_name(clerk_name))
        ).rowcount
        if won != 1:  # another clerk got there first: theirs is the pickup to report
            latest = conn.execute(
                select(CODES).where(CODES.c.campaign_id == row.campaign_id, CODES.c.code == row.code)
            ).first()
            return Checked("used", row_to_code(latest) if latest is not None else row, campaign)
        collect = _pay_on_pickup(conn, services, campaign, row.member_id, clerk_id, now)
    picked = PickupCode(
        row.campaign_id,
        row.member_id,
        row.point,
        row.code,
        row.issued_at,
        now,
        clerk_id,
        safe_name(clerk_name),
    )
    return details(services, picked, campaign, collect)


def _pay_on_pickup(
    conn: Connection,
    services: Services,
    campaign: Campaign | None,
    member_id: str,
    clerk_id: str,
    now: datetime,
) -> int:
    """Paid on pickup: record the member's net as paid in the pickup's transaction; what to collect."""
    if campaign is None or campaign.fulfilment.payment != "on_pickup":
        return 0
    due = member_due(services, campaign, member_id, conn=conn)
    if due is None or due.owed_cents <= 0:
        return 0
    record_payment(conn, campaign.id, member_id, due.net_cents, clerk_id, "pickup", now)
    return due.owed_cents


def details(services: Services, code: PickupCode, campaign: Campaign | None, collect: int) -> Checked:
    """The member's items, remark and money, for the clerk's answer."""
    store = selling(services).store
    orders = store.orders(code.campaign_id, member_id=code.member_id)
    merged: dict[str, int] = {}
    for order in orders:
        merged[order.product_code] = merged.get(order.product_code, 0) + order.quantity
    sell = selling(services)
    lines = [
        (product, sell.product_name(campaign, product) if campaign else product, quantity)
        for product, quantity in merged.items()
    ]
    name = next((o.member_name for o in reversed(orders) if o.member_name), "")
    due = member_due(services, campaign, code.member_id) if campaign is not None else None
    return Checked(
        "ok",
        code,
        campaign,
        member_name=safe_name(name or services.repo.member_name(code.member_id)),
        lines=lines,
        total_cents=sum(o.quantity * o.unit_price_cents for o in orders),
        remark=store.remark(code.campaign_id, code.member_id),
        due=due,
        collect_cents=collect,
    )


__all__ = ["Checked", "candidates", "check_off", "choose", "details"]
