"""`Selling`: the selling feature's per-app runtime, shared by its chat handlers and node runners.

It holds the single order writer, each group's campaign state, the 接龙 lists,
the notices and the stock announcer. It is made on first use and found by type
(`selling(services)`).

Why it memoises: every group message asks "which campaign is this group's, and
is it open?" (`pick`). That answer changes only when a campaign is loaded,
reloaded, delayed, resumed or unloaded (the campaign runtime bumps its
`generation`) or a group opens or closes (this class bumps its own), so it is
computed once per group between those events and no message reads the database
for it. Stock for the answers comes from the mirror the writer fills after each
commit, and the 接龙 lists from what the writer read back in its thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loguru import logger
from sqlalchemy.engine import Connection

from bot.campaign import Campaign
from bot.context import Services
from handlers.selling.announcer import StockAnnouncer
from handlers.selling.chain import CHAIN_MAX_LINES, ChainLists, product_name
from handlers.selling.discounts import wallet_of
from handlers.selling.notices import Notice, NoticeBoard
from handlers.selling.ops import (
    BatchView,
    CancelOrders,
    ChainEntry,
    Operation,
    OpResult,
    PlaceOrder,
    StockLine,
)
from handlers.selling.order_writer import CommitCallback, OrderWriter
from handlers.selling.parse import Catalog, safe_name
from handlers.selling.pricing import PricedLine, Quote, extras_of, quote, quote_member
from handlers.selling.store import OrderStore
from handlers.selling.tables import REOPEN

if TYPE_CHECKING:
    from bot.campaign.runtime import CampaignRuntime

PICK_MEMO_GROUPS = 20_000
"""Bound of the per-group memo of `pick` (cleared when full; one entry per group that spoke)."""

Picked = tuple[Campaign, str] | None


def selling(services: Services) -> Selling:
    """The selling runtime of this app (made on first use)."""
    runtime: Selling | None = services.find(Selling)
    if runtime is None:
        runtime = Selling(services)
        services.provide(runtime)
    return runtime


class Selling:
    """Per-app state of the selling feature; see the module docstring."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = OrderStore(services.repo.engine)
        self.writer = OrderWriter(
            self.store,
            services.clock.now,
            on_commit=self._answer_batch,
            on_batch=self._after_batch,
            read_after=self.store.after_batch,
        )
        self.hints: dict[tuple[str, str], str] = {}
        self.committed: list[CommitCallback] = []  # other features' steps after each committed batch
        self.last_product: dict[tuple[str, str], str] = {}
        self.chain_lists = ChainLists(services.outbox, self.store, self.render, self.campaign)
        self.chains = self.chain_lists.states
        self.notices = NoticeBoard(services.outbox, self.render)
        self.announcer = StockAnnouncer(self)
        self.generation = 0  # bumped when a group's state changes here: the memos below are stale
        self._catalogs: dict[str, tuple[Campaign, Catalog]] = {}
        self._seeded: dict[str, Campaign] = {}
        self._stock: dict[str, list[StockLine]] = {}  # the stock as the writer last committed it
        self._picks: dict[str, tuple[tuple[int, int], Picked]] = {}
        self._times: dict[str, tuple[tuple[int, int], Campaign, tuple[datetime, datetime]]] = {}
        self._batch_notices: dict[str, list[Notice]] | None = None
        self._sales_moved: dict[str, None] = {}  # campaigns whose stock the batch being answered moved
        self.statuses_loaded = False  # `hints` holds every group's state (no row: "scheduled")
        services.settlers.append(self.settle)

    def load_statuses(self) -> None:
        """Read every group's ordering state in one query, so `status` and `pick` (and the order
        matcher, which runs on the loop for every message) never read the database again;
        this process keeps `hints` current on every state change it makes."""
        self.hints.update(self.store.all_group_statuses())
        self.statuses_loaded = True
        self.generation += 1

    async def settle(self) -> None:
        """Wait until every order queued so far, and any queued meanwhile, is committed and answered."""
        await self.writer.settle()

    async def caught_up(self) -> None:
        """Wait until every order queued before this call is committed and answered (a member's
        question about their own orders: not the orders other groups send meanwhile)."""
        await self.writer.caught_up()

    # -- campaigns ---------------------------------------------------------------------------
    @property
    def registry(self) -> CampaignRuntime | None:
        runtime = self.services.campaigns
        return runtime if runtime.running else None

    def _stamp(self, registry: CampaignRuntime) -> tuple[int, int]:
        return (registry.generation, self.generation)

    def state_stamp(self) -> tuple[int, int]:
        """Moves whenever campaigns, their times or a group's ordering state change."""
        registry = self.registry
        return (registry.generation if registry is not None else -1, self.generation)

    def campaign(self, campaign_id: str) -> Campaign | None:
        registry = self.registry
        loaded = registry.campaigns.get(campaign_id) if registry is not None else None
        return loaded.campaign if loaded is not None else None

    def groups_of(self, campaign: Campaign) -> list[str]:
        registry = self.registry
        return registry.groups_of(campaign) if registry is not None else list(campaign.groups)

    def times(self, campaign: Campaign) -> tuple[datetime, datetime]:
        """Opening and closing time with a leader's delay applied (memoised between state changes)."""
        registry = self.registry
        if registry is None or campaign.id not in registry.campaigns:
            return campaign.opens_at, campaign.closes_at
        stamp = self._stamp(registry)
        memo = self._times.get(campaign.id)
        if memo is not None and memo[0] == stamp and memo[1] is campaign:
            return memo[2]
        times = registry.effective_times(campaign.id)
        self._times[campaign.id] = (stamp, campaign, times)
        return times

    def catalog(self, campaign: Campaign) -> Catalog:
        cached = self._catalogs.get(campaign.id)
        if cached is None or cached[0] is not campaign:
            cached = (campaign, Catalog.of(campaign.products))
            self._catalogs[campaign.id] = cached
        return cached[1]

    def ensure_stock(self, campaign: Campaign) -> None:
        """Seed stock rows from the file once per loaded version of the campaign."""
        if self._seeded.get(campaign.id) is not campaign:
            self.store.ensure_stock(campaign, self.services.clock.now())
            self._seeded[campaign.id] = campaign
            self._stock.pop(campaign.id, None)

    def seeded_in_transaction(self, campaign_id: str, campaign: Campaign | None = None) -> None:
        """Stock rows were (re)seeded by a committed transaction (a node's): the mirror is stale,
        and `campaign` (that version) needs no seeding again."""
        self._stock.pop(campaign_id, None)
        if campaign is not None:
            self._seeded[campaign_id] = campaign

    def stock_lines(self, campaign_id: str) -> list[StockLine]:
        """The campaign's stock as last committed (the writer's mirror; read once if unknown)."""
        lines = self._stock.get(campaign_id)
        if lines is None:
            lines = self._stock[campaign_id] = self.store.stock(campaign_id)
        return lines

    def mirror_stock(self, campaign_id: str, lines: list[StockLine]) -> None:
        """Another process's orders moved the stock (several accounts: `handlers.selling.shared`)."""
        self._stock[campaign_id] = lines

    def status(self, campaign_id: str, group_id: str, conn: Connection | None = None) -> str:
        """The campaign's state in the group (a hint: the writer re-checks inside its transaction).

        A node run passes its claim's connection: read there, the state is not remembered (the
        transaction may yet roll back)."""
        key = (campaign_id, group_id)
        status = self.hints.get(key)
        if status is None and conn is None and self.statuses_loaded:
            status = self.hints[key] = "scheduled"  # loaded in bulk: no row means not opened yet
        elif status is None:
            status = self.store.group_status(campaign_id, group_id, conn)
            if conn is None:
                self.hints[key] = status
        return status

    def set_hint(self, campaign_id: str, group_id: str, status: str) -> None:
        """This process now knows the group's state (open/close node, a refused order)."""
        if self.hints.get((campaign_id, group_id)) != status:
            self.hints[(campaign_id, group_id)] = status
            self.generation += 1

    def set_status(self, campaign_id: str, group_id: str, status: str) -> str:
        """Open or close ordering in one group now (serialised with the writer); returns the old state."""
        previous = self.store.set_group_status(campaign_id, group_id, status, self.services.clock.now())
        self.set_hint(campaign_id, group_id, status)
        self.generation += 1  # the ledger moved too: effective times may have
        return previous

    def state_moved(self, campaign_id: str, group_id: str, status: str) -> None:
        """A committed node (open, close) moved the group's state: memos keyed on it are stale."""
        self.set_hint(campaign_id, group_id, status)
        self.generation += 1  # the ledger moved too: effective times may have

    def pick(self, group_id: str) -> Picked:
        """The campaign a group message is about: the open one (or in its 返场), else the next to
        open, else the last."""
        registry = self.registry
        if registry is None or not group_id:
            return None
        stamp = self._stamp(registry)
        memo = self._picks.get(group_id)
        if memo is not None and memo[0] == stamp:
            return memo[1]
        picked = self._pick(registry, group_id)
        if len(self._picks) >= PICK_MEMO_GROUPS:
            self._picks.clear()
        self._picks[group_id] = (stamp, picked)
        return picked

    def _pick(self, registry: CampaignRuntime, group_id: str) -> Picked:
        candidates = [
            lc.campaign for lc in registry.campaigns.values() if registry.runs_in(lc.campaign, group_id)
        ]
        if not candidates:
            return None
        states = [(c, self.status(c.id, group_id)) for c in candidates]
        for wanted, key in (
            (("open", REOPEN), lambda c: self.times(c)[1]),  # a 返场 sells like an open sale
            (("scheduled",), lambda c: self.times(c)[0]),
        ):
            found = sorted(((c, s) for c, s in states if s in wanted), key=lambda cs: key(cs[0]))
            if found:
                return found[0]
        closed = sorted((c for c, _ in states), key=lambda c: self.times(c)[1])
        return closed[-1], "closed"

    def product_name(self, campaign: Campaign, code: str) -> str:
        return product_name(campaign, code)

    # -- posting -----------------------------------------------------------------------------
    def render(self, template: str, **variables: Any) -> str:
        return self.services.renderer.render(template, bot_name=self.services.config.bot.name, **variables)

    def notice(self, group_id: str, kind: str, member_id: str, name: str, **data: Any) -> None:
        """A short answer to a member, gathered with others into one post per window."""
        item = Notice(kind, member_id, name, tuple(sorted(data.items())))
        if self._batch_notices is not None:  # inside a batch's after-commit: one outbox write per group
            self._batch_notices.setdefault(group_id, []).append(item)
            return
        self.notices.post(group_id, [item])

    def drop_preopen_replies(self, group_id: str) -> None:
        """The group opens now: its still-queued "还没开团哦" replies never leave."""
        self.notices.drop_preopen(group_id)

    def refresh_chain(self, campaign_id: str, group_id: str, entries: list[ChainEntry] | None = None) -> None:
        """Queue the 接龙 list of a group (or mark the queued one stale), from the committed orders."""
        self.chain_lists.refresh(campaign_id, group_id, entries)

    def render_chain(
        self,
        campaign: Campaign,
        entries: list[ChainEntry],
        new_after: int | None = None,
        max_lines: int = CHAIN_MAX_LINES,
        product_code: str | None = None,
    ) -> str:
        return self.chain_lists.text(campaign, entries, new_after, max_lines, product_code)

    # -- after each committed batch -------------------------------------------------------------
    def _tell_listeners(self, ops: list[Operation], results: list[OpResult]) -> None:
        """The whole batch, once its answers are queued (even if answering failed: what the
        features decided in the batch's transaction is committed and must still be told)."""
        for listener in self.committed:  # after the answers: a feature's news follows the reply
            try:
                listener(ops, results)
            except Exception:
                logger.opt(exception=True).error("selling: an after-commit listener failed")

    def _after_batch(self, ops: list[Operation], results: list[OpResult]) -> Iterator[None]:
        """The batch's threshold posts (in steps, chat read between), then its listeners, always."""
        moved, self._sales_moved = self._sales_moved, {}
        for campaign_id in moved:
            try:
                yield from self.announcer.after_sales(campaign_id)
            except Exception:  # the listeners are told all the same (`_tell_listeners`)
                logger.opt(exception=True).error("selling: a stock post pass failed")
        self._tell_listeners(ops, results)

    def _answer_batch(self, ops: list[Operation], results: list[OpResult]) -> None:
        view = self.writer.view if isinstance(self.writer.view, BatchView) else None
        if view is not None:
            self._stock.update(view.stock)
        chains: dict[tuple[str, str], None] = {}
        campaigns: dict[str, None] = {}
        self._batch_notices = {}
        try:
            for op, result in zip(ops, results, strict=True):
                if isinstance(op, PlaceOrder):
                    self._answer_place(op, result)
                    if result.filled:
                        chains[(op.campaign_id, op.group_id)] = None
                        campaigns[op.campaign_id] = None
                elif isinstance(op, CancelOrders):
                    self._answer_cancel(op, result)
                    if result.cancelled:
                        chains[(op.campaign_id, op.group_id)] = None
                        campaigns[op.campaign_id] = None
                elif result.status == "ok":  # a restock
                    campaigns[op.campaign_id] = None
        finally:
            pending, self._batch_notices = self._batch_notices, None
        for group_id, items in pending.items():
            self.notices.post(group_id, items)
        for key in chains:
            if self.hints.get(key) != "closed":
                self.refresh_chain(*key, entries=view.chains.get(key) if view is not None else None)
        for campaign_id in campaigns:
            if view is None:
                self._stock.pop(campaign_id, None)
            self._sales_moved[campaign_id] = None

    def _answer_place(self, op: PlaceOrder, result: OpResult) -> None:
        campaign = self.campaign(op.campaign_id)
        if result.status in ("not_open", "closed"):
            self.set_hint(op.campaign_id, op.group_id, "closed" if result.status == "closed" else "scheduled")
            opens_at = self.times(campaign)[0] if campaign is not None else None
            self.notice(op.group_id, result.status, op.member_id, op.member_name, opens_at=opens_at)
            return
        if result.status == "error":
            self.notice(op.group_id, "error", op.member_id, op.member_name)
            return
        for line in result.lines:
            if line.outcome == "ok":
                continue
            name = self.product_name(campaign, line.product_code) if campaign else line.product_code
            self.notice(
                op.group_id,
                line.outcome,
                op.member_id,
                op.member_name,
                code=line.product_code,
                product=name,
                filled=line.filled,
                limit=line.limit,
            )

    def _answer_cancel(self, op: CancelOrders, result: OpResult) -> None:
        if result.status == "closed":
            self.notice(op.group_id, "cancel_closed", op.member_id, self._name(op))
        elif result.cancelled:
            what = "、".join(f"{code}×{n}" for code, n in sorted(result.cancelled.items()))
            self.notice(op.group_id, "cancelled", op.member_id, self._name(op), what=what)
        else:
            self.notice(op.group_id, "nothing_to_cancel", op.member_id, self._name(op))

    def _name(self, op: CancelOrders) -> str:
        """The name the cancel message carried; a read only for ops made without one (a leader's)."""
        return safe_name(op.name or self.services.repo.member_name(op.member_id))

    # -- quotes -----------------------------------------------------------------------------------
    def member_quote(self, campaign: Campaign, member_id: str) -> tuple[Quote, list[tuple[str, str, int]]]:
        """A member's active orders in a campaign (all groups), priced; plus (code, name, qty) lines.
        No orders, nothing to price: the wallet, points and perks are not read (most 我的订单 in a
        busy group come from members who have not ordered)."""
        orders = self.store.orders(campaign.id, member_id=member_id)
        if not orders:
            return quote(()), []
        merged: dict[tuple[str, int], int] = {}
        for order in orders:
            merged[(order.product_code, order.unit_price_cents)] = (
                merged.get((order.product_code, order.unit_price_cents), 0) + order.quantity
            )
        lines = [PricedLine(code, qty, price) for (code, price), qty in merged.items()]
        member_quote = quote_member(
            wallet_of(self.services),
            member_id,
            campaign.id,
            lines,
            campaign.spend_tiers,
            self.services.clock.now(),
            extras=extras_of(self.services),
        )
        shown = [
            (line.product_code, self.product_name(campaign, line.product_code), line.quantity)
            for line in lines
        ]
        return member_quote, shown


__all__ = ["PICK_MEMO_GROUPS", "Selling", "selling"]
