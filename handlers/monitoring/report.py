"""The campaign report: one row per group, as `tuanbot report` prints it.

Money columns come from the same computation as the results post
(`handlers.selling.settlement`): gross (GMV), the discounts — 满减, coupons, red-packet
credit, and (added last, so earlier columns keep their places) member discount and points —
and net, so the two agree to the fen on the same database. The after-sales figures
(`Report.aftersales`, all groups together) are there once the campaign has a ticket or is
closed; `aftersales_text()` prints them under the table.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.campaign.growth_models import PointsRedeem
from bot.campaign.models import SpendTier
from handlers.aftersales.figures import Figures, figures_for, figures_text
from handlers.coupons.wallet import PreloadedWallet
from handlers.fulfilment.adjustments import adjustments_of
from handlers.monitoring.metrics import groups_metrics
from handlers.points.redeem import PreloadedPurse
from handlers.selling.discounts import bound_to
from handlers.selling.perks import MemberPerks
from handlers.selling.pricing import PriceExtras
from handlers.selling.settlement import Money, money_now
from handlers.selling.store import OrderStore, OrderView, sell_through


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
    tier_off_yuan: float = 0.0
    coupon_off_yuan: float = 0.0
    credit_off_yuan: float = 0.0
    discount_yuan: float = 0.0
    net_yuan: float = 0.0
    refund_yuan: float = 0.0  # after-sales refunds (退款) of this group's buyers
    resend_yuan: float = 0.0  # after-sales resends (补发), the leader's cost
    net_after_sales_yuan: float = 0.0  # net minus refunds and resends
    member_off_yuan: float = 0.0  # 会员折扣 (a tier's discount perk)
    points_off_yuan: float = 0.0  # 积分抵扣 (points the close debited; before close, an estimate)


def _yuan(cents: int) -> float:
    return round(cents / 100, 2)


def _money_columns(money: Money) -> dict[str, float]:
    return {
        "tier_off_yuan": _yuan(money.tier_off_cents),
        "coupon_off_yuan": _yuan(money.coupon_off_cents),
        "credit_off_yuan": _yuan(money.credit_off_cents),
        "discount_yuan": _yuan(money.discount_cents),
        "net_yuan": _yuan(money.net_cents),
        "member_off_yuan": _yuan(money.member_off_cents),
        "points_off_yuan": _yuan(money.points_off_cents),
    }


@dataclass(frozen=True)
class Report:
    campaign_id: str
    since: datetime
    until: datetime
    rows: list[ReportRow]
    sell_through_pct: float
    aftersales: Figures | None = None
    growth: dict[str, int] = field(default_factory=dict)  # the growth loops' figures (FeatureFigures)

    def aftersales_text(self) -> str:
        """The after-sales figures as text ("" when there are none to show)."""
        return figures_text(self.aftersales) if self.aftersales is not None else ""

    def totals(self) -> ReportRow:
        rows = self.rows
        buyers = sum(r.buyers for r in rows)
        members = sum(r.members for r in rows)
        gmv = round(sum(r.gmv_yuan for r in rows), 2)
        money = {
            key: round(sum(getattr(r, key) for r in rows), 2)
            for key in (
                "tier_off_yuan",
                "coupon_off_yuan",
                "credit_off_yuan",
                "discount_yuan",
                "net_yuan",
                "refund_yuan",
                "resend_yuan",
                "net_after_sales_yuan",
                "member_off_yuan",
                "points_off_yuan",
            )
        }
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
            **money,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "campaign": self.campaign_id,
                "since": self.since.isoformat(),
                "until": self.until.isoformat(),
                "sell_through_pct": self.sell_through_pct,
                "groups": [asdict(r) for r in self.rows],
                "aftersales": self.aftersales.as_dict() if self.aftersales is not None else None,
                "growth": self.growth,
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


def _after_sales_by_group(
    engine: Engine, campaign_id: str, orders: Iterable[OrderView]
) -> dict[str, tuple[int, int]]:
    """Group id -> (refunded fen, resent fen): each member's adjustments count in the group of
    their first order (a member has one bill per campaign, whichever groups they ordered in)."""
    home: dict[str, str] = {}
    for order in orders:
        home.setdefault(order.member_id, order.group_id)
    sums: dict[str, tuple[int, int]] = {}
    for member_id, (refund, resend) in adjustments_of(engine, campaign_id).items():
        group_id = home.get(member_id)
        if group_id is not None:
            before = sums.get(group_id, (0, 0))
            sums[group_id] = (before[0] + refund, before[1] + resend)
    return sums


def build_report(
    engine: Engine,
    campaign_id: str,
    groups: list[str],
    names: dict[str, str],
    since: datetime,
    until: datetime,
    *,
    tiers: Iterable[SpendTier] = (),
    priced_at: datetime | None = None,
    redeem: PointsRedeem | None = None,
    perks: MemberPerks | None = None,
    growth: Mapping[str, int] | None = None,
) -> Report:
    """The report; money is priced at `priced_at` (default `until`), or with what a close redeemed.

    Points a close debited always count; with the campaign's `redeem` rule, opted-in members who
    are not settled yet count at their balance now (an estimate, as coupons are before close).
    `perks` (the tiers feature's, when the caller has it) prices the member discount. `growth`:
    the growth loops' figures (referral, points, gifts, reopen…) as `FeatureFigures` collects them."""
    rows = []
    metrics = groups_metrics(engine, campaign_id, groups, since, until)
    # The same window as GMV, so gross minus discounts is net in every row.
    orders = [o for o in OrderStore(engine).orders(campaign_id) if since <= o.created_at < until]
    wallet = PreloadedWallet(engine, campaign_id, {o.member_id for o in orders})
    extras = PriceExtras(bound_to(perks, engine), PreloadedPurse(engine, campaign_id, redeem))
    money = money_now(wallet, campaign_id, tiers, orders, priced_at or until, extras=extras)
    after_sales = _after_sales_by_group(engine, campaign_id, orders)
    for group_id in groups:
        m = metrics[group_id]
        refund, resend = after_sales.get(group_id, (0, 0))
        net = money.of(group_id).net_cents
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
                **_money_columns(money.of(group_id)),
                refund_yuan=_yuan(refund),
                resend_yuan=_yuan(resend),
                net_after_sales_yuan=_yuan(net - refund - resend),
            )
        )
    return Report(
        campaign_id,
        since,
        until,
        rows,
        round(100 * sell_through(OrderStore(engine).stock(campaign_id)), 1),
        figures_for(engine, campaign_id, groups, until),
        dict(growth or {}),
    )
