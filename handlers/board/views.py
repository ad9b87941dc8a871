"""A snapshot cut to one viewer's groups: the live page, the results page and their JSON.

Pure functions of a `Snapshot` and a group list, so one computation serves every viewer. Sums
over the viewer's groups come from the report's own total (`Report.totals`, as the report's
合计 row), the products and buyers from `compute_results` over their groups' orders, so the
board agrees with `tuanbot report`, `/stats` and the results post. Values stay raw (fen,
aware datetimes); templates format them, `jsonable` turns them into JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.group_filter import mask_group_text
from handlers.board.alerts import AlertRow
from handlers.board.figures import Snapshot
from handlers.board.scope import Scope
from handlers.board.timeline import campaign_state, node_states
from handlers.monitoring.report import Report, ReportRow
from handlers.selling.results import compute_results

CHART_MINUTES = 30  # the sales-per-minute chart shows this many minutes (a phone's width of bars)
RECENT_ORDERS = 8
ALERTS_SHOWN = 20


def _cents(yuan: float) -> int:
    return round(yuan * 100)


def scoped_report(snapshot: Snapshot, groups: list[str]) -> Report:
    """The report with only these groups' rows (its CSV, its totals)."""
    full = snapshot.report
    return Report(
        full.campaign_id,
        full.since,
        full.until,
        [snapshot.rows[g] for g in groups],
        full.sell_through_pct,
    )


def group_row(snapshot: Snapshot, group_id: str, row: ReportRow) -> dict[str, Any]:
    return {
        "id": group_id,
        "name": snapshot.names[group_id],
        "status": snapshot.statuses.get(group_id, "scheduled"),
        "members": row.members,
        "active_pct": row.active_pct,
        "messages": row.messages,
        "buyers": row.buyers,
        "orders": row.orders,
        "units": row.units,
        "gmv_cents": _cents(row.gmv_yuan),
        "discount_cents": _cents(row.discount_yuan),
        "net_cents": _cents(row.net_yuan),
        "aov_cents": _cents(row.aov_yuan),
        "conversion_pct": row.conversion_pct,
        "conversion_all_pct": row.conversion_all_pct,
    }


def _per_minute(snapshot: Snapshot, orders: list[Any]) -> list[dict[str, Any]]:
    """Units and GMV ordered in each of the last `CHART_MINUTES` minutes of the sale so far."""
    inputs = snapshot.inputs
    end = min(inputs.now, inputs.closes_at).replace(second=0, microsecond=0)
    start = max(inputs.opens_at.replace(second=0, microsecond=0), end - timedelta(minutes=CHART_MINUTES - 1))
    if end < start:
        return []
    units: Counter[datetime] = Counter()
    gmv: Counter[datetime] = Counter()
    for order in orders:
        minute = order.created_at.replace(second=0, microsecond=0)
        if start <= minute <= end:
            units[minute] += order.quantity
            gmv[minute] += order.quantity * order.unit_price_cents
    minutes = int((end - start).total_seconds() // 60) + 1
    return [
        {"minute": at, "units": units[at], "gmv_cents": gmv[at]}
        for at in (start + timedelta(minutes=i) for i in range(minutes))
    ]


def alerts_for(scope: Scope, admins: Iterable[str], alerts: Iterable[AlertRow]) -> list[AlertRow]:
    """The alerts the bot sent this viewer (an admin session: those sent to the admins, once
    each), newest first."""
    admin_ids = set(admins)
    mine: dict[tuple[str, datetime], AlertRow] = {}
    for alert in alerts:
        wanted = alert.member_id in admin_ids if not scope.member_id else alert.member_id == scope.member_id
        if wanted:
            mine.setdefault((alert.headline, alert.at.replace(second=0, microsecond=0)), alert)
    return sorted(mine.values(), key=lambda a: (a.at, a.outbox_id), reverse=True)[:ALERTS_SHOWN]


def live_view(snapshot: Snapshot, scope: Scope, groups: list[str], admins: Iterable[str]) -> dict[str, Any]:
    """Everything the live page shows, for these groups (the viewer's share of the campaign)."""
    inputs = snapshot.inputs
    campaign = snapshot.campaign
    wanted = set(groups)
    orders = [o for o in snapshot.orders if o.group_id in wanted]
    results = compute_results(orders, list(snapshot.stock))
    totals = scoped_report(snapshot, groups).totals()
    names = {p.code: p.name for p in campaign.products}
    products = [
        {
            "code": line.product_code,
            "name": line.name,
            "price_cents": line.price_cents,
            "left": line.stock,
            "total": line.total,
            "sold": line.sold,
            "sell_through_pct": round(100 * line.sold / line.total, 1) if line.total else 0.0,
            "ordered_here": sales.quantity,
        }
        for line, sales in zip(snapshot.stock, results.products, strict=True)
    ]
    return {
        "campaign": {
            "id": campaign.id,
            "title": campaign.title,
            "status": campaign_state(snapshot.statuses, groups),
            "paused": inputs.paused,
            "opens_at": inputs.opens_at,
            "closes_at": inputs.closes_at,
        },
        "as_of": inputs.now,
        "everything": scope.everything,
        "figures": {
            "gmv_cents": results.gmv_cents,
            "tier_off_cents": _cents(totals.tier_off_yuan),
            "coupon_off_cents": _cents(totals.coupon_off_yuan),
            "credit_off_cents": _cents(totals.credit_off_yuan),
            "member_off_cents": _cents(totals.member_off_yuan),
            "points_off_cents": _cents(totals.points_off_yuan),
            "discount_cents": _cents(totals.discount_yuan),
            "net_cents": _cents(totals.net_yuan),
            "orders": results.orders,
            "buyers": results.buyers,
            "units": results.items,
            "aov_cents": results.aov_cents,
            "members": totals.members,
            "conversion_pct": totals.conversion_all_pct,
            "sell_through_pct": round(100 * results.sell_through, 1),
        },
        "products": products,
        "per_minute": _per_minute(snapshot, orders),
        "groups": [group_row(snapshot, g, snapshot.rows[g]) for g in groups],
        "timeline": [asdict(s) for s in node_states(inputs.nodes, snapshot.ledger, groups)],
        "alerts": [asdict(a) for a in alerts_for(scope, admins, snapshot.alerts)],
        "recent_orders": [
            {
                "at": o.created_at,
                "name": mask_group_text(o.member_name),
                "product": names.get(o.product_code, o.product_code),
                "code": o.product_code,
                "quantity": o.quantity,
                "group": snapshot.names[o.group_id],
            }
            for o in reversed(orders[-RECENT_ORDERS:])
        ],
    }


def results_view(live: dict[str, Any], aftersales: dict[str, Any] | None) -> dict[str, Any]:
    """The results page: the live figures at (or after) the close, best sellers and top groups."""
    products = sorted(live["products"], key=lambda p: (-p["ordered_here"], p["code"]))
    top_groups = sorted(live["groups"], key=lambda g: (-g["gmv_cents"], g["name"]))[:5]
    sold_out = [p for p in live["products"] if p["total"] and p["left"] == 0]
    return {
        **live,
        "best_sellers": products,
        "top_groups": top_groups,
        "sold_out": sold_out,
        "aftersales": aftersales,
    }


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601, dataclasses as dicts, recursively."""
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


__all__ = ["alerts_for", "group_row", "jsonable", "live_view", "results_view", "scoped_report"]
