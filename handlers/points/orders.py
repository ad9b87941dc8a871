"""Order points at close: each buyer of a group earns the campaign's `points.per_yuan` for every
yuan of their active orders there, double for orders placed in a double-points window.

It rides the close node's ledger claim (`bot.feature.Feature.node_hooks`), like the poster: the
credits are written in the transaction that claims the close for the group, after the selling
feature's hook (features run in `FEATURES` order), so ordering is closed and cancelled orders
are gone from `campaign_orders`. A close that runs twice loses the claim; were the hook run
again anyway, each credit's ref (campaign and group) makes it a no-op in the ledger.

The ref names the group because a group closes on its own (a leader's `/close`): a buyer who
ordered in two groups earns for each group's orders when that group closes, never twice for one.
Points are counted on the goods' value (price × quantity, before coupons and 满减, which apply
to a member's whole bill), in fen, and rounded down once per buyer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from loguru import logger
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.campaign import Campaign
from bot.campaign.nodes import NodeHook, NodeRun
from bot.campaign.render_memo import cached
from bot.campaign.times import to_utc
from handlers.points.ledger import points_of
from handlers.selling.node_hooks import campaign_orders
from handlers.selling.ops import OrderView

REASON = "order"
DOUBLE = 2
MEMO = "points:windows"


@dataclass(frozen=True)
class Window:
    """A double-points window, resolved to UTC: orders placed in [starts, ends) earn double."""

    starts: datetime
    ends: datetime

    def holds(self, at: datetime) -> bool:
        return self.starts <= to_utc(at) < self.ends


def windows_of(campaign: Campaign, opens_at: datetime, closes_at: datetime) -> tuple[Window, ...]:
    """The campaign's double-points windows at its effective T and C (a delayed sale moves them)."""
    tz = campaign.tz
    return tuple(
        Window(
            to_utc(w.from_.resolve(opens_at, closes_at, tz)), to_utc(w.until.resolve(opens_at, closes_at, tz))
        )
        for w in campaign.points.double
    )


def order_ref(campaign_id: str, group_id: str) -> str:
    """The ledger ref of a buyer's order points for one group's close."""
    return f"{campaign_id}@{group_id}"


def order_points(orders: Iterable[OrderView], per_yuan: float, windows: tuple[Window, ...]) -> dict[str, int]:
    """Points per buyer: Σ price × quantity (× 2 in a window) × per_yuan, rounded down; buyers who
    earn nothing are left out."""
    weighted: dict[str, int] = {}
    for order in orders:
        factor = DOUBLE if any(w.holds(order.created_at) for w in windows) else 1
        weighted[order.member_id] = (
            weighted.get(order.member_id, 0) + order.unit_price_cents * order.quantity * factor
        )
    rate = Decimal(str(per_yuan)) / 100  # per fen
    earned = {m: int((Decimal(fen) * rate).to_integral_value(ROUND_FLOOR)) for m, fen in weighted.items()}
    return {m: points for m, points in sorted(earned.items()) if points > 0}


def hook_close(run: NodeRun, conn: Connection) -> None:
    """Credit this group's buyers their order points in the close's own transaction."""
    services, campaign, group_id = run.services, run.campaign, run.group_id
    if not services.config.points.enabled or campaign.points.per_yuan <= 0:
        return
    try:
        with conn.begin_nested():
            windows = cached(
                run.memo, (MEMO, campaign.id), lambda: windows_of(campaign, run.opens_at, run.closes_at)
            )
            orders = [o for o in campaign_orders(run, conn) if o.group_id == group_id]
            ledger, ref = points_of(services), order_ref(campaign.id, group_id)
            for member_id, points in order_points(orders, campaign.points.per_yuan, windows).items():
                ledger.credit_in(
                    conn,
                    member_id,
                    points,
                    REASON,
                    ref,
                    now=run.now,
                    campaign_id=campaign.id,
                    group_id=group_id,
                )
    except OperationalError:
        raise  # the database: the chunk is retried, as for any hook
    except Exception:
        logger.bind(campaign=campaign.id, group=group_id).opt(exception=True).error(
            "points: order points at close failed; the close goes on without them"
        )


NODE_HOOKS: dict[str, NodeHook] = {"close": hook_close}

__all__ = ["NODE_HOOKS", "Window", "hook_close", "order_points", "order_ref", "windows_of"]
