"""The pickup point's lists, as data: the 分拣单 (sorting list) and the 提货单 (pickup list).

Both come from one read of the campaign's dues (`handlers.fulfilment.dues`), so their totals
are the orders in the database: the 分拣单 sums each product's units per pickup point, the
提货单 lists each buyer with code, items, remark, amount due (after refunds), paid and picked-up
state. A member's pickup point is the one their code was issued for, else their choice, else
the campaign's only point (`handlers.fulfilment.codes.point_of`); "" is shown as 未选择.
Remarks and codes are private: these lists go to the leader only (files, private messages).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.campaign import Campaign
from bot.context import Services
from handlers.fulfilment.codes import PickupCode, codes_for, point_of
from handlers.fulfilment.dues import Due, campaign_dues
from handlers.selling.store import OrderStore

NO_POINT = "未选择"


@dataclass(frozen=True)
class SortLine:
    member_id: str
    member_name: str
    quantity: int


@dataclass(frozen=True)
class SortProduct:
    """One product at one point: its total units and who gets how many."""

    code: str
    name: str
    unit: str
    total: int
    members: tuple[SortLine, ...]


@dataclass(frozen=True)
class PickupEntry:
    """One buyer on the 提货单."""

    member_id: str
    member_name: str
    code: str
    items: tuple[tuple[str, str, int], ...]  # (product code, name, quantity)
    remark: str
    net_cents: int
    owed_cents: int
    paid: bool
    picked: bool

    @property
    def quantity(self) -> int:
        return sum(item[2] for item in self.items)


@dataclass(frozen=True)
class PointLists:
    """Both lists of one pickup point."""

    point: str
    products: tuple[SortProduct, ...]
    entries: tuple[PickupEntry, ...]

    @property
    def units(self) -> int:
        return sum(p.total for p in self.products)

    @property
    def net_cents(self) -> int:
        return sum(e.net_cents for e in self.entries)

    @property
    def owed_cents(self) -> int:
        return sum(e.owed_cents for e in self.entries)


@dataclass(frozen=True)
class CampaignLists:
    campaign_id: str
    title: str
    made_at: datetime
    scope: str  # "all", or the group names the lists cover
    on_pickup: bool
    points: tuple[PointLists, ...]

    @property
    def units(self) -> int:
        return sum(p.units for p in self.points)

    @property
    def buyers(self) -> int:
        return sum(len(p.entries) for p in self.points)

    @property
    def net_cents(self) -> int:
        return sum(p.net_cents for p in self.points)

    @property
    def owed_cents(self) -> int:
        return sum(p.owed_cents for p in self.points)


def _point(campaign: Campaign, code: PickupCode | None, chosen: str | None) -> str:
    if code is not None and code.point:
        return code.point
    return point_of(campaign, chosen) or NO_POINT


def _sorting(campaign: Campaign, dues: Iterable[Due]) -> tuple[SortProduct, ...]:
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[str, str] = {}
    for due in dues:
        names[due.member_id] = due.member_name
        for code, _, quantity, _ in due.lines:
            per[code][due.member_id] += quantity
    order = {p.code: i for i, p in enumerate(campaign.products)}
    products = []
    for code in sorted(per, key=lambda c: (order.get(c, len(order)), c)):
        product = campaign.product(code)
        members = tuple(
            SortLine(m, names.get(m, ""), q) for m, q in sorted(per[code].items(), key=lambda kv: kv[0])
        )
        products.append(
            SortProduct(
                code,
                product.name if product is not None else code,
                (product.unit or "") if product is not None else "",
                sum(line.quantity for line in members),
                members,
            )
        )
    return tuple(products)


def _items(due: Due) -> tuple[tuple[str, str, int], ...]:
    merged: dict[tuple[str, str], int] = defaultdict(int)
    for code, name, quantity, _ in due.lines:
        merged[(code, name)] += quantity
    return tuple((code, name, quantity) for (code, name), quantity in merged.items())


def build_lists(
    services: Services, campaign: Campaign, group_ids: list[str] | None = None, scope: str = "all"
) -> CampaignLists:
    """Both lists of a campaign, per pickup point; `group_ids` limits them to buyers of those groups.

    Reads the database: call it in a worker thread.
    """
    engine = services.repo.engine
    store = OrderStore(engine)
    dues = campaign_dues(services, campaign, group_ids=group_ids)
    codes = codes_for(engine, campaign.id)
    chosen = store.pickups(campaign.id)
    remarks = store.remarks(campaign.id)
    by_point: dict[str, list[Due]] = defaultdict(list)
    for due in dues.values():
        by_point[_point(campaign, codes.get(due.member_id), chosen.get(due.member_id))].append(due)
    known = [p.name for p in campaign.pickup_points]
    points = []
    for point in sorted(
        by_point, key=lambda p: (p == NO_POINT, known.index(p) if p in known else len(known), p)
    ):
        members = sorted(
            by_point[point],
            key=lambda d: (codes[d.member_id].code if d.member_id in codes else "~", d.member_id),
        )
        entries = tuple(
            PickupEntry(
                due.member_id,
                due.member_name,
                codes[due.member_id].code if due.member_id in codes else "",
                _items(due),
                remarks.get(due.member_id, ""),
                due.net_cents,
                due.owed_cents,
                due.paid,
                due.member_id in codes and codes[due.member_id].picked,
            )
            for due in members
        )
        points.append(PointLists(point, _sorting(campaign, members), entries))
    return CampaignLists(
        campaign.id,
        campaign.title,
        services.clock.now(),
        scope,
        campaign.fulfilment.payment == "on_pickup",
        tuple(points),
    )


__all__ = ["NO_POINT", "CampaignLists", "PickupEntry", "PointLists", "SortLine", "SortProduct", "build_lists"]
