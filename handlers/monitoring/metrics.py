"""Per-group campaign metrics, computed from the raw tables.

Every figure here is defined in docs/metrics.md; `tuanbot report`, `/stats`,
the alert checks and the daily summary all read them from this one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from handlers.monitoring.activity import Activity, chunks, group_activity, groups_activity, share
from handlers.selling.store import ACTIVE, OrderRow


@dataclass(frozen=True)
class Sales:
    buyers: frozenset[str]
    orders: int
    units: int
    gmv_cents: int


@dataclass(frozen=True)
class GroupMetrics:
    """One group's figures for one campaign over one window."""

    group_id: str
    campaign_id: str
    activity: Activity
    sales: Sales

    @property
    def members(self) -> int:
        """The group's known members, and at least its active ones: a buyer who left the group, or
        was forgotten (`tuanbot member forget`), still counts as active and must count here too."""
        return max(self.activity.members, self.active_members)

    @property
    def active_members(self) -> int:
        """Members who spoke or ordered in the window."""
        return len(self.activity.speakers | self.sales.buyers)

    @property
    def active_ratio(self) -> float:
        return share(self.active_members, self.members)

    @property
    def buyers(self) -> int:
        return len(self.sales.buyers)

    @property
    def conversion_active(self) -> float:
        """Buyers ÷ active members."""
        return share(self.buyers, self.active_members)

    @property
    def conversion_all(self) -> float:
        """Buyers ÷ all members."""
        return share(self.buyers, self.members)

    @property
    def aov_cents(self) -> int:
        """客单价: GMV ÷ buyers (spend per buying member)."""
        return self.sales.gmv_cents // self.buyers if self.buyers else 0


def _sales_statement(campaign: bool) -> Any:
    """Active orders per (group, buyer) placed in a window, of one campaign or of all."""
    where = [
        col(OrderRow.group_id).in_(bindparam("groups", expanding=True)),
        col(OrderRow.status) == ACTIVE,
        col(OrderRow.created_at) >= bindparam("since"),
        col(OrderRow.created_at) < bindparam("until"),
    ]
    if campaign:
        where.append(col(OrderRow.campaign_id) == bindparam("campaign"))
    return (
        select(
            col(OrderRow.group_id),
            col(OrderRow.member_id),
            func.count(),
            func.sum(col(OrderRow.quantity)),
            func.sum(col(OrderRow.quantity) * col(OrderRow.unit_price_cents)),
        )
        .where(*where)
        .group_by(col(OrderRow.group_id), col(OrderRow.member_id))
    )


# Built once (see handlers.monitoring.activity): the alert check runs every minute of a sale.
SALES_OF_CAMPAIGN = _sales_statement(campaign=True)
SALES_OF_ALL = _sales_statement(campaign=False)


def _sales_by_group(
    engine: Engine, group_ids: list[str], since: datetime, until: datetime, campaign_id: str | None = None
) -> dict[str, Sales]:
    """Active (not cancelled) orders placed in the window, of `campaign_id` or of every campaign,
    in each group: one query per 900 groups."""
    per_buyer: dict[str, list[tuple[str, int, int, int]]] = {group_id: [] for group_id in group_ids}
    statement = SALES_OF_ALL if campaign_id is None else SALES_OF_CAMPAIGN
    with engine.connect() as conn:
        for part in chunks(group_ids):
            params = {"groups": part, "since": since, "until": until, "campaign": campaign_id}
            for group_id, member_id, orders, units, gmv in conn.execute(statement, params):
                per_buyer[group_id].append((member_id, int(orders), int(units), int(gmv)))
    return {
        group_id: Sales(
            frozenset(r[0] for r in rows),
            sum(r[1] for r in rows),
            sum(r[2] for r in rows),
            sum(r[3] for r in rows),
        )
        for group_id, rows in per_buyer.items()
    }


def groups_metrics(
    engine: Engine, campaign_id: str, group_ids: list[str], since: datetime, until: datetime
) -> dict[str, GroupMetrics]:
    """Every group's figures for one campaign and window, with a few grouped queries in all."""
    activity = groups_activity(engine, group_ids, since, until)
    sales = _sales_by_group(engine, group_ids, since, until, campaign_id)
    return {
        group_id: GroupMetrics(group_id, campaign_id, activity[group_id], sales[group_id])
        for group_id in group_ids
    }


def group_metrics(
    engine: Engine, campaign_id: str, group_id: str, since: datetime, until: datetime
) -> GroupMetrics:
    return groups_metrics(engine, campaign_id, [group_id], since, until)[group_id]


@dataclass(frozen=True)
class DaySummary:
    """One group's day across all campaigns: for `/stats today` and the leaders' daily summary."""

    group_id: str
    activity: Activity
    sales: Sales

    @property
    def active_members(self) -> int:
        return len(self.activity.speakers | self.sales.buyers)


def day_summary(engine: Engine, group_id: str, since: datetime, until: datetime) -> DaySummary:
    """The group's activity and its orders of every campaign in the window."""
    return DaySummary(
        group_id,
        group_activity(engine, group_id, since, until),
        _sales_by_group(engine, [group_id], since, until)[group_id],
    )
