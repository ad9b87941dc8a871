"""The campaign report: one row per group, as `tuanbot report` prints it."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.monitoring.metrics import groups_metrics
from bot.storage.orders import OrderStore, sell_through


@dataclass(frozen=True)
class ReportRow:
    group: str
    members: int
    active_pct: float
    messages: int
    buyers: int
    orders: int
    units: int
    gmv_yuan: float
    aov_yuan: float
    conversion_pct: float
    conversion_all_pct: float


@dataclass(frozen=True)
class Report:
    campaign_id: str
    since: datetime
    until: datetime
    rows: list[ReportRow]
    sell_through_pct: float

    def totals(self) -> ReportRow:
        rows = self.rows
        buyers = sum(r.buyers for r in rows)
        members = sum(r.members for r in rows)
        gmv = round(sum(r.gmv_yuan for r in rows), 2)
        return ReportRow(
            group="合计",
            members=sum(r.members for r in rows),
            active_pct=0.0,
            messages=sum(r.messages for r in rows),
            buyers=buyers,
            orders=sum(r.orders for r in rows),
            units=sum(r.units for r in rows),
            gmv_yuan=gmv,
            aov_yuan=round(gmv / buyers, 2) if buyers else 0.0,
            conversion_pct=0.0,
            conversion_all_pct=round(100 * buyers / members, 1) if members else 0.0,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "campaign": self.campaign_id,
                "since": self.since.isoformat(),
                "until": self.until.isoformat(),
                "sell_through_pct": self.sell_through_pct,
                "groups": [asdict(r) for r in self.rows],
            },
            ensure_ascii=False,
            indent=2,
        )

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(ReportRow.__dataclass_fields__))
        writer.writeheader()
        for row in self.rows:
            writer.writerow(asdict(row))
        return buffer.getvalue()


def build_report(
    engine: Engine,
    campaign_id: str,
    groups: list[str],
    names: dict[str, str],
    since: datetime,
    until: datetime,
) -> Report:
    rows = []
    metrics = groups_metrics(engine, campaign_id, groups, since, until)
    for group_id in groups:
        m = metrics[group_id]
        rows.append(
            ReportRow(
                group=names.get(group_id, group_id),
                members=m.members,
                active_pct=round(100 * m.active_ratio, 1),
                messages=m.activity.messages,
                buyers=m.buyers,
                orders=m.sales.orders,
                units=m.sales.units,
                gmv_yuan=m.sales.gmv_cents / 100,
                aov_yuan=m.aov_cents / 100,
                conversion_pct=round(100 * m.conversion_active, 1),
                conversion_all_pct=round(100 * m.conversion_all, 1),
            )
        )
    return Report(
        campaign_id, since, until, rows, round(100 * sell_through(OrderStore(engine).stock(campaign_id)), 1)
    )
