"""One campaign's figures for the board: computed once, in the board's own thread, for every viewer.

Nothing here re-derives a figure. The per-group rows, money (gross, 满减, coupons, red-packet
credit, member discount, points, net), members, activity and conversion are `tuanbot report`'s
(`handlers.monitoring.report.build_report`, same window, same pricing instant); products and
sell-through are the results post's (`handlers.selling.results.compute_results` over the
committed stock); the timeline is the runtime's nodes against the ledger rows
(`bot.storage.timeline_store`). A snapshot holds them for all the campaign's groups;
`handlers.board.views` cuts it to one viewer's groups.

`inputs_of` runs on the event loop and only reads memory (the runtime's memoised nodes and
windows); `refresh_snapshot` does every database read and runs in a worker thread. It first
reads a fingerprint (a handful of aggregate and max-id reads): when no order, stock level,
ledger row, group state, chat message or outbox row moved since the last snapshot, that
snapshot is still the answer and nothing is recomputed, up to `FULL_EVERY_SECONDS`, after which
it is recomputed anyway (for what the fingerprint does not watch: joins, coupons, tickets).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.campaign import Campaign, TimelineNode
from bot.context import Services
from bot.group_filter import mask_group_text
from bot.storage.repo import Repo
from bot.storage.tables import CampaignGroupState, InboundMessage, OutboxRow, TimelineLedger
from bot.storage.timeline_store import LedgerEntry, TimelineStore
from handlers.board.alerts import AlertLog, AlertRow
from handlers.monitoring.report import Report, ReportRow, build_report
from handlers.selling.perks import MemberPerks
from handlers.selling.store import ACTIVE, OrderStore, OrderView, StockLine
from handlers.selling.tables import ORDERS, STOCK

FULL_EVERY_SECONDS = 15.0  # a snapshot is recomputed at least this often, fingerprint or not


@dataclass(frozen=True)
class Inputs:
    """What a snapshot needs from the campaign runtime, read on the loop from memory."""

    campaign: Campaign
    groups: tuple[str, ...]
    nodes: tuple[TimelineNode, ...]
    since: datetime  # the report window starts at the first node, as `tuanbot report`'s does
    opens_at: datetime
    closes_at: datetime
    paused: bool
    now: datetime  # bot time (a rehearsal's virtual time)
    perks: MemberPerks | None = None  # the tiers feature's, for the member discount (会员折扣)

    @property
    def until(self) -> datetime:
        return max(self.closes_at, self.now)


@dataclass(frozen=True)
class Snapshot:
    """Every figure of one campaign in all its groups at one moment."""

    seq: int
    inputs: Inputs
    names: dict[str, str]  # group id -> its name, masked as in group posts
    report: Report
    rows: dict[str, ReportRow]  # group id -> its report row
    orders: tuple[OrderView, ...]
    stock: tuple[StockLine, ...]
    ledger: tuple[LedgerEntry, ...]
    statuses: dict[str, str]  # group id -> scheduled | open | closed
    alerts: tuple[AlertRow, ...]
    seconds: float = 0.0  # what computing it cost (wall time)
    fingerprint: tuple[object, ...] = ()
    made_at: float = 0.0  # time.monotonic() when it was computed

    @property
    def campaign(self) -> Campaign:
        return self.inputs.campaign


def inputs_of(services: Services, campaign_id: str) -> Inputs | None:
    """The runtime's view of a loaded campaign (None if it is not loaded), from memory."""
    runtime = services.campaigns
    loaded = runtime.campaigns.get(campaign_id)
    if loaded is None:
        return None
    opens_at, closes_at = runtime.effective_times(campaign_id)
    return Inputs(
        campaign=loaded.campaign,
        groups=tuple(runtime.groups_of(loaded.campaign)),
        nodes=tuple(runtime.effective_nodes(campaign_id)),
        since=loaded.nodes[0].fire_at,
        opens_at=opens_at,
        closes_at=closes_at,
        paused=runtime.control(campaign_id).paused,
        now=services.clock.now(),
        perks=services.find(MemberPerks),  # type: ignore[type-abstract]  # a protocol is the key
    )


def group_names(repo: Repo, groups: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Each group's name as group posts show it (a name can carry a phone or a room)."""
    return {g: mask_group_text(repo.group_name(g)) for g in groups}


def stock_of(store: OrderStore, campaign: Campaign) -> tuple[StockLine, ...]:
    """The committed stock; before the opening seeds it, the file's products at full stock."""
    lines = store.stock(campaign.id)
    if lines:
        return tuple(lines)
    return tuple(
        StockLine(p.code, p.name, p.price_cents, p.unit or "", p.limit_per_member or 0, p.stock, p.stock)
        for p in campaign.products
    )


def fingerprint(engine: Engine, campaign_id: str) -> tuple[object, ...]:
    """What moves when the figures can: the campaign's orders and stock, its ledger and group
    states, and the newest chat message and outbox row (index and primary-key reads only)."""
    ledger = TimelineLedger.__table__  # type: ignore[attr-defined]
    states = CampaignGroupState.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        orders = conn.execute(
            select(func.count(), func.max(ORDERS.c.id), func.sum(ORDERS.c.quantity)).where(
                ORDERS.c.campaign_id == campaign_id, ORDERS.c.status == ACTIVE
            )
        ).one()
        stock = conn.execute(
            select(func.sum(STOCK.c.stock), func.sum(STOCK.c.total)).where(STOCK.c.campaign_id == campaign_id)
        ).one()
        ran = conn.execute(select(func.count()).where(ledger.c.campaign_id == campaign_id)).scalar()
        moved = conn.execute(
            select(states.c.status, func.count())
            .where(states.c.campaign_id == campaign_id)
            .group_by(states.c.status)
            .order_by(states.c.status)
        ).all()
        said = conn.execute(select(func.max(col(InboundMessage.id)))).scalar()
        queued = conn.execute(select(func.max(col(OutboxRow.id)))).scalar()
    return (tuple(orders), tuple(stock), ran, tuple(map(tuple, moved)), said, queued)


def _same_inputs(before: Inputs, now: Inputs) -> bool:
    return (
        before.campaign,
        before.groups,
        before.nodes,
        before.opens_at,
        before.closes_at,
        before.paused,
    ) == (
        now.campaign,
        now.groups,
        now.nodes,
        now.opens_at,
        now.closes_at,
        now.paused,
    )


def refresh_snapshot(
    engine: Engine, repo: Repo, inputs: Inputs, alerts: AlertLog, seq: int, previous: Snapshot | None
) -> Snapshot:
    """`previous` when nothing it depends on moved (and it is not too old), else a new snapshot."""
    print_ = fingerprint(engine, inputs.campaign.id)
    if (
        previous is not None
        and previous.fingerprint == print_
        and _same_inputs(previous.inputs, inputs)
        and time.monotonic() - previous.made_at < FULL_EVERY_SECONDS
    ):
        return previous
    # The ledger grows by node runs, not by chat: while its row count stands, the last read is
    # still the answer (it was the largest read of a busy sale: 18,000 rows at 1,000 groups).
    ledger = (
        previous.ledger
        if previous is not None
        and previous.fingerprint[2:3] == print_[2:3]
        and time.monotonic() - previous.made_at < FULL_EVERY_SECONDS
        else None
    )
    return compute_snapshot(engine, repo, inputs, alerts, seq, print_, ledger)


def compute_snapshot(
    engine: Engine,
    repo: Repo,
    inputs: Inputs,
    alerts: AlertLog,
    seq: int,
    print_: tuple[object, ...] = (),
    ledger: tuple[LedgerEntry, ...] | None = None,
) -> Snapshot:
    """Read and compute everything but a `ledger` still current (blocking: call it in a worker thread)."""
    started = time.perf_counter()
    campaign = inputs.campaign
    names = group_names(repo, inputs.groups)
    until = inputs.until
    report = build_report(
        engine,
        campaign.id,
        list(inputs.groups),
        names,
        inputs.since,
        until,
        tiers=campaign.spend_tiers,
        priced_at=min(until, inputs.closes_at),
        redeem=campaign.points.redeem,
        perks=inputs.perks,
    )
    store = OrderStore(engine)
    timeline = TimelineStore(engine)
    return Snapshot(
        seq=seq,
        inputs=inputs,
        names=names,
        report=report,
        rows=dict(zip(inputs.groups, report.rows, strict=True)),
        orders=tuple(store.orders(campaign.id)),
        stock=stock_of(store, campaign),
        ledger=ledger if ledger is not None else tuple(timeline.ledger(campaign.id)),
        statuses=timeline.group_statuses(campaign.id),
        alerts=tuple(alerts.read(engine, campaign.title, inputs.since)),
        seconds=time.perf_counter() - started,
        fingerprint=print_,
        made_at=time.monotonic(),
    )


__all__ = [
    "FULL_EVERY_SECONDS",
    "Inputs",
    "Snapshot",
    "compute_snapshot",
    "fingerprint",
    "group_names",
    "inputs_of",
    "refresh_snapshot",
    "stock_of",
]
