"""The rows of a 限时返场 (docs/growth.md): moving a group into and out of it, and what it sold.

Both moves are conditional statements run in a node's claim transaction (`handlers.selling.reopen`):
"closed" becomes "reopen" and back, nothing else does, so a group a leader reopened or closed by
hand is left as it is, and a duplicate run (which never gets past the claim anyway) changes nothing.
The window row remembers the highest order id when the group reopened: the group's orders above
it (and, once closed, up to `until_order_id`) are the 返场's own. `closed_at` keeps the sale's close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from handlers.selling.tables import ACTIVE, GROUPS, ORDERS, REOPEN, REOPENS

__all__ = ["ReopenSales", "begin_reopen", "end_reopen", "reopen_sales"]


@dataclass
class ReopenSales:
    """What 返场 orders sold: order messages, paid and free (买赠) units, money, per product."""

    orders: int = 0
    units: int = 0
    free_units: int = 0
    gmv_cents: int = 0
    products: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (paid, free)


def begin_reopen(conn: Connection, campaign_id: str, group_id: str, now: datetime) -> bool:
    """Reopen a closed group; False (nothing written) when it is not closed."""
    moved = conn.execute(
        update(GROUPS)
        .where(
            GROUPS.c.campaign_id == campaign_id, GROUPS.c.group_id == group_id, GROUPS.c.status == "closed"
        )
        .values(status=REOPEN)
    ).rowcount
    if not moved:
        return False
    after = conn.execute(select(func.max(ORDERS.c.id))).scalar() or 0
    where = (REOPENS.c.campaign_id == campaign_id, REOPENS.c.group_id == group_id)
    conn.execute(delete(REOPENS).where(*where))
    conn.execute(
        insert(REOPENS).values(
            campaign_id=campaign_id, group_id=group_id, opened_at=now, after_order_id=int(after)
        )
    )
    return True


def end_reopen(conn: Connection, campaign_id: str, group_id: str, now: datetime) -> bool:
    """Close the group's open 返场 window (and the group, if still in it); False when none was open.

    A leader's `/close` during the 返场 already stopped ordering: the window is closed here all the
    same, so its results are posted once, at the declared end.
    """
    until = conn.execute(select(func.max(ORDERS.c.id))).scalar() or 0
    closed = conn.execute(
        update(REOPENS)
        .where(
            REOPENS.c.campaign_id == campaign_id,
            REOPENS.c.group_id == group_id,
            REOPENS.c.closed_at.is_(None),
        )
        .values(closed_at=now, until_order_id=int(until))
    ).rowcount
    conn.execute(
        update(GROUPS)
        .where(GROUPS.c.campaign_id == campaign_id, GROUPS.c.group_id == group_id, GROUPS.c.status == REOPEN)
        .values(status="closed")
    )
    return bool(closed)


def reopen_sales(conn: Connection, campaign_id: str, group_ids: Sequence[str] | None = None) -> ReopenSales:
    """What the campaign's 返场 sold in `group_ids` (None: every group), from its active orders."""
    windows = select(REOPENS).where(REOPENS.c.campaign_id == campaign_id)
    if group_ids is not None:
        windows = windows.where(REOPENS.c.group_id.in_(list(group_ids)))
    sales = ReopenSales()
    messages: set[tuple[str, str, object]] = set()
    for window in conn.execute(windows).all():
        query = select(
            ORDERS.c.member_id,
            ORDERS.c.product_code,
            ORDERS.c.quantity,
            ORDERS.c.unit_price_cents,
            ORDERS.c.created_at,
        ).where(
            ORDERS.c.campaign_id == campaign_id,
            ORDERS.c.group_id == window.group_id,
            ORDERS.c.status == ACTIVE,
            ORDERS.c.id > window.after_order_id,
        )
        if window.until_order_id is not None:
            query = query.where(ORDERS.c.id <= window.until_order_id)
        for member_id, code, quantity, price, created_at in conn.execute(query):
            paid, free = sales.products.get(code, (0, 0))
            if price > 0:
                messages.add((window.group_id, member_id, created_at))
                sales.units += quantity
                sales.gmv_cents += quantity * price
                paid += quantity
            else:
                sales.free_units += quantity
                free += quantity
            sales.products[code] = (paid, free)
    sales.orders = len(messages)
    return sales
