"""Chain orders (接龙) in the group: order, cancel, my orders, pickup point.

Members order in plain chat while a campaign is open in their group (forms in
`handlers.selling.parse` and docs/ordering.md). Every order goes through
the single writer and is acknowledged only after its commit. Nothing is
answered one message per order: accepted orders show up in the numbered 接龙
list, posted at most once per `CHAIN_WINDOW` per group (a queued list is
replaced by a newer rendering, so each list is accurate when rendered), and
refusals, partial fills and confirmations are gathered into one notice per
`NOTICE_WINDOW` per group that @-mentions everyone concerned. A burst of
hundreds of orders therefore costs a handful of posts, which keeps the
account far from WeChat's rate limits.

`Selling` is the feature's per-app runtime (created on first use, kept in
`services.features["selling"]`): the writer, hints of each group's campaign
state, and the coalescing state of lists and notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from bot.campaign import Campaign
from bot.context import Context, Services
from bot.events import GroupMessage, PrivateMessage
from bot.handler import on_message, on_private
from bot.vocab import Priority
from handlers.selling.notices import Notice, NoticeBoard
from handlers.selling.order_writer import OrderWriter
from handlers.selling.parse import Catalog, is_my_orders, normalize, parse_cancel, parse_order, safe_name
from handlers.selling.pricing import PricedLine, Quote, quote_member
from handlers.selling.store import (
    CancelOrders,
    ChainEntry,
    Operation,
    OpResult,
    OrderStore,
    PlaceOrder,
    Restock,
)

if TYPE_CHECKING:
    from bot.campaign.nodes import NodeRun
    from bot.campaign.runtime import CampaignRegistry
    from handlers.selling.stock import StockAnnouncer

CHAIN_WINDOW = 5.0  # seconds: at most one 接龙 list per group this often
CHAIN_MAX_LINES = 40  # a longer list shows its newest lines (WeChat messages have a length limit)


@dataclass
class _ChainState:
    outbox_id: int | None = None
    queued_upto: int = 0  # newest order id in the queued list
    posted_upto: int = 0  # newest order id in the last list that left: newer ones are marked new


def selling(services: Services) -> Selling:
    """The selling runtime of this app (made on first use)."""
    runtime: Selling | None = services.features.get("selling")
    if runtime is None:
        runtime = Selling(services)
        services.features["selling"] = runtime
    return runtime


class Selling:
    """Per-app state of the selling feature; see the module docstring."""

    def __init__(self, services: Services) -> None:
        from handlers.selling.stock import StockAnnouncer

        self.services = services
        self.store = OrderStore(services.repo.engine)
        self.writer = OrderWriter(self.store, services.clock.now, on_commit=self._after_commit)
        self.hints: dict[tuple[str, str], str] = {}
        self.last_product: dict[tuple[str, str], str] = {}
        self.chains: dict[tuple[str, str], _ChainState] = {}
        self.notices = NoticeBoard(services.outbox, self._render)
        self.announcer: StockAnnouncer = StockAnnouncer(self)
        self._catalogs: dict[str, tuple[Campaign, Catalog]] = {}
        self._seeded: dict[str, Campaign] = {}
        self._batch_notices: dict[str, list[Notice]] | None = None

    # -- campaigns ---------------------------------------------------------------------------
    @property
    def registry(self) -> CampaignRegistry | None:
        return self.services.features.get("campaigns")

    def campaign(self, campaign_id: str) -> Campaign | None:
        registry = self.registry
        loaded = registry.campaigns.get(campaign_id) if registry is not None else None
        return loaded.campaign if loaded is not None else None

    def groups_of(self, campaign: Campaign) -> list[str]:
        registry = self.registry
        return registry.groups_of(campaign) if registry is not None else list(campaign.groups)

    def times(self, campaign: Campaign) -> tuple[datetime, datetime]:
        """Opening and closing time with a leader's delay applied."""
        registry = self.registry
        if registry is not None and campaign.id in registry.campaigns:
            return registry.effective_times(campaign.id)
        return campaign.opens_at, campaign.closes_at

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

    def status(self, campaign_id: str, group_id: str) -> str:
        """The campaign's state in the group (a hint: the writer re-checks inside its transaction)."""
        key = (campaign_id, group_id)
        status = self.hints.get(key)
        if status is None:
            status = self.store.group_status(campaign_id, group_id)
            self.hints[key] = status
        return status

    def set_status(self, campaign_id: str, group_id: str, status: str) -> str:
        """Open or close ordering in one group now (serialised with the writer); returns the old state."""
        previous = self.store.set_group_status(campaign_id, group_id, status, self.services.clock.now())
        self.hints[(campaign_id, group_id)] = status
        return previous

    def pick(self, group_id: str) -> tuple[Campaign, str] | None:
        """The campaign a group message is about: the open one, else the next to open, else the last."""
        registry = self.registry
        if registry is None or not group_id:
            return None
        candidates = [
            loaded.campaign
            for loaded in registry.campaigns.values()
            if registry.runs_in(loaded.campaign, group_id)
        ]
        if not candidates:
            return None
        states = [(c, self.status(c.id, group_id)) for c in candidates]
        for wanted, key in (
            ("open", lambda c: self.times(c)[1]),
            ("scheduled", lambda c: self.times(c)[0]),
        ):
            found = sorted((c for c, s in states if s == wanted), key=key)
            if found:
                return found[0], wanted
        closed = sorted((c for c, _ in states), key=lambda c: self.times(c)[1])
        return closed[-1], "closed"

    def product_name(self, campaign: Campaign, code: str) -> str:
        product = campaign.product(code)
        return product.name if product is not None else code

    # -- posting -----------------------------------------------------------------------------
    def _render(self, template: str, **variables: Any) -> str:
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

    def refresh_chain(self, campaign_id: str, group_id: str) -> None:
        """Queue (or replace the queued) 接龙 list of a group, rendered from the committed orders."""
        campaign = self.campaign(campaign_id)
        if campaign is None:
            return
        entries = self.store.chain(campaign_id, group_id)
        state = self.chains.setdefault((campaign_id, group_id), _ChainState())
        if not entries:  # everything was cancelled: an empty list says nothing
            self._drop_queued_chain(campaign_id, group_id, state)
            return

        def render(grow: bool) -> tuple[str, tuple[str, ...]]:
            if not grow:  # a new list: what the last one showed is no longer new
                state.posted_upto = state.queued_upto
            return self.render_chain(campaign, entries, state.posted_upto), ()

        state.outbox_id = self.services.outbox.roll(
            state.outbox_id,
            render,
            group_id=group_id,
            replace_key=f"chain:{campaign_id}",
            delay=CHAIN_WINDOW,
            priority=Priority.ORDER,
            kind="chain",
        )
        state.queued_upto = max((e.last_id for e in entries), default=state.queued_upto)

    def _drop_queued_chain(self, campaign_id: str, group_id: str, state: _ChainState) -> None:
        """Cancel the group's still-queued list, which shows orders that are gone.

        The outbox cancels by kind, so another campaign's queued list in the same group
        goes too and is queued again here (rendered afresh from its orders).
        """
        if state.outbox_id is None:
            return
        state.outbox_id = None
        if not self.services.outbox.cancel_queued(group_id=group_id, kind="chain"):
            return
        for (other_id, other_group), other in list(self.chains.items()):
            if other_group == group_id and other_id != campaign_id and other.outbox_id is not None:
                other.outbox_id = None
                self.refresh_chain(other_id, group_id)

    def render_chain(
        self,
        campaign: Campaign,
        entries: list[ChainEntry],
        new_after: int | None = None,
        max_lines: int = CHAIN_MAX_LINES,
        product_code: str | None = None,
    ) -> str:
        rows: list[dict[str, Any]] = []
        for number, entry in enumerate(entries, start=1):
            if product_code is not None and entry.product_code != product_code:
                continue
            product = campaign.product(entry.product_code)
            rows.append(
                {
                    "number": number,
                    "name": entry.member_name,
                    "code": entry.product_code,
                    "product": product.name if product else entry.product_code,
                    "quantity": entry.quantity,
                    "new": new_after is not None and entry.last_id > new_after,
                }
            )
        totals: dict[str, int] = {}
        for row in rows:
            totals[row["code"]] = totals.get(row["code"], 0) + row["quantity"]
        hidden = max(0, len(rows) - max_lines)
        return self._render(
            "orders/chain_list.j2",
            title=campaign.title,
            rows=rows[hidden:],
            hidden=hidden,
            totals=[(code, self.product_name(campaign, code), n) for code, n in sorted(totals.items())],
            example=campaign.products[0].code,
        )

    # -- after each committed batch -------------------------------------------------------------
    def _after_commit(self, ops: list[Operation], results: list[OpResult]) -> None:
        chains: dict[tuple[str, str], None] = {}
        campaigns: dict[str, None] = {}
        self._batch_notices = {}
        try:
            self._answer_all(ops, results, chains, campaigns)
        finally:
            pending, self._batch_notices = self._batch_notices, None
        for group_id, items in pending.items():
            self.notices.post(group_id, items)
        for campaign_id, group_id in chains:
            if self.hints.get((campaign_id, group_id)) != "closed":
                self.refresh_chain(campaign_id, group_id)
        for campaign_id in campaigns:
            self.announcer.after_sales(campaign_id)

    def _answer_all(
        self,
        ops: list[Operation],
        results: list[OpResult],
        chains: dict[tuple[str, str], None],
        campaigns: dict[str, None],
    ) -> None:
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
            elif isinstance(op, Restock) and result.status == "ok":
                campaigns[op.campaign_id] = None

    def _answer_place(self, op: PlaceOrder, result: OpResult) -> None:
        campaign = self.campaign(op.campaign_id)
        if result.status in ("not_open", "closed"):
            self.hints[(op.campaign_id, op.group_id)] = "closed" if result.status == "closed" else "scheduled"
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
        return safe_name(self.services.repo.member_name(op.member_id))

    # -- quotes -----------------------------------------------------------------------------------
    def member_quote(self, campaign: Campaign, member_id: str) -> tuple[Quote, list[tuple[str, str, int]]]:
        """A member's active orders in a campaign (all groups), priced; plus (code, name, qty) lines."""
        orders = self.store.orders(campaign.id, member_id=member_id)
        merged: dict[tuple[str, int], int] = {}
        for order in orders:
            merged[(order.product_code, order.unit_price_cents)] = (
                merged.get((order.product_code, order.unit_price_cents), 0) + order.quantity
            )
        lines = [PricedLine(code, qty, price) for (code, price), qty in merged.items()]
        member_quote = quote_member(
            self.services.features,
            member_id,
            campaign.id,
            lines,
            campaign.spend_tiers,
            self.services.clock.now(),
        )
        shown = [
            (line.product_code, self.product_name(campaign, line.product_code), line.quantity)
            for line in lines
        ]
        return member_quote, shown


# ------------------------------------------------------------------------------------ handlers
@on_message(r"^\s*(?:取消|全部取消)", priority=Priority.ORDER)
async def handle_cancel(msg: GroupMessage, ctx: Context) -> bool:
    """取消 A1 / 取消全部: cancel one's own orders in this group until close; stock is returned."""
    sell = selling(ctx.services)
    picked = sell.pick(msg.group_id)
    if picked is None:
        return False
    campaign, status = picked
    intent = parse_cancel(msg.text, sell.catalog(campaign))
    if intent is None:
        return False
    name = safe_name(msg.sender.name)
    if intent.unknown:
        sell.notice(msg.group_id, "unknown", msg.sender.id, name, refs=intent.unknown)
        return True
    if status == "scheduled":
        sell.notice(msg.group_id, "nothing_to_cancel", msg.sender.id, name)
        return True
    await sell.writer.submit(
        CancelOrders(campaign.id, msg.group_id, msg.sender.id, intent.product_code, msg.time)
    )
    return True


@on_message(r"^\s*(?:我的订单|查订单|查询订单|订单查询|我的接龙|我买了什么)", priority=Priority.ORDER)
async def handle_my_orders(msg: GroupMessage, ctx: Context) -> bool:
    """我的订单: a short group reply with one's own orders, discounts and what to pay."""
    if not is_my_orders(msg.text):
        return False
    sell = selling(ctx.services)
    picked = sell.pick(msg.group_id)
    if picked is None:
        return False
    campaign = picked[0]
    member_quote, lines = sell.member_quote(campaign, msg.sender.id)
    ctx.reply(
        "orders/my_orders.j2",
        name=safe_name(msg.sender.name),
        title=campaign.title,
        lines=lines,
        quote=member_quote,
        closed=picked[1] == "closed",
        pickup=sell.store.pickups(campaign.id).get(msg.sender.id, ""),
        mention=True,
        priority=Priority.ORDER,
    )
    return True


@on_private(r"^\s*(?:我的订单|查订单|查询订单|订单查询|我的接龙|我买了什么)", priority=Priority.ORDER)
async def handle_my_orders_private(msg: PrivateMessage, ctx: Context) -> bool:
    """我的订单 in a private chat: every campaign the member has orders in."""
    sell = selling(ctx.services)
    registry = sell.registry
    if registry is None:
        return False
    found = False
    for loaded in registry.campaigns.values():
        member_quote, lines = sell.member_quote(loaded.campaign, msg.sender.id)
        if lines:
            found = True
            ctx.reply(
                "orders/my_orders.j2",
                name=safe_name(msg.sender.name),
                title=loaded.campaign.title,
                lines=lines,
                quote=member_quote,
                pickup=sell.store.pickups(loaded.campaign.id).get(msg.sender.id, ""),
                priority=Priority.ORDER,
            )
    if not found:
        ctx.reply(
            "orders/my_orders.j2",
            name=safe_name(msg.sender.name),
            title="",
            lines=[],
            quote=None,
            pickup="",
            priority=Priority.ORDER,
        )
    return True


@on_message(r"^\s*自提点?\s*[:：]?\s*\S", priority=Priority.ORDER)
async def handle_pickup(msg: GroupMessage, ctx: Context) -> bool:
    """自提 东门: choose a pickup point (only a name from the campaign file is taken; nothing is echoed)."""
    sell = selling(ctx.services)
    picked = sell.pick(msg.group_id)
    if picked is None:
        return False
    campaign = picked[0]
    wanted = normalize(msg.text).removeprefix("自提点").removeprefix("自提").strip(" :")
    matches = [p for p in campaign.pickup_points if wanted and wanted in normalize(p.name)]
    if len(matches) != 1:
        return False  # a question about pickup, left to the FAQ
    sell.store.set_pickup(campaign.id, msg.sender.id, matches[0].name, ctx.clock.now())
    ctx.reply(
        "orders/pickup_set.j2",
        name=safe_name(msg.sender.name),
        point=matches[0],
        mention=True,
        priority=Priority.ORDER,
    )
    return True


@on_message(priority=Priority.ORDER + 1)
async def handle_order(msg: GroupMessage, ctx: Context) -> bool:
    """A chain order in chat (接龙 A1 2, A1+2, +1, 草莓 2, …) while a campaign runs in the group."""
    sell = selling(ctx.services)
    picked = sell.pick(msg.group_id)
    if picked is None:
        return False
    campaign, status = picked
    catalog = sell.catalog(campaign)
    parsed = parse_order(msg.text, catalog)
    key = (campaign.id, msg.group_id)
    if parsed is None:
        mentioned = catalog.mentioned(msg.text) if len(msg.text) <= 200 else None
        if mentioned is not None:
            sell.last_product[key] = mentioned  # so a following "+1" means this product
        return False
    name = safe_name(msg.sender.name)
    if status != "open":
        opens_at = sell.times(campaign)[0]
        sell.notice(
            msg.group_id,
            "not_open" if status == "scheduled" else "closed",
            msg.sender.id,
            name,
            opens_at=opens_at,
        )
        return True
    if parsed.unknown:
        sell.notice(msg.group_id, "unknown", msg.sender.id, name, refs="、".join(parsed.unknown))
    lines: dict[str, int] = {}
    for item in parsed.items:
        code = item.code
        if code is None:
            code = catalog.codes[0] if len(catalog.codes) == 1 else sell.last_product.get(key)
        if code is None:
            sell.notice(msg.group_id, "which", msg.sender.id, name, example=catalog.codes[0])
            return True
        lines[code] = lines.get(code, 0) + item.quantity
    if not lines:
        return True
    sell.last_product[key] = next(reversed(lines))
    sell.ensure_stock(campaign)
    await sell.writer.submit(
        PlaceOrder(campaign.id, msg.group_id, msg.sender.id, name, tuple(lines.items()), msg.time)
    )
    return True


# ------------------------------------------------------------------------------------ timeline hooks
def _hook_open(run: NodeRun, conn: Connection) -> None:
    """In the open node's transaction: stock rows exist, and this process knows ordering is open."""
    sell = selling(run.services)
    sell.store.ensure_stock_in(conn, run.campaign, run.now)
    sell.hints[(run.campaign.id, run.group_id)] = "open"


def _hook_close(run: NodeRun, conn: Connection) -> None:
    selling(run.services).hints[(run.campaign.id, run.group_id)] = "closed"


NODE_HOOKS = {"open": _hook_open, "close": _hook_close}

__all__ = ["NODE_HOOKS", "Notice", "Selling", "handle_cancel", "handle_my_orders", "handle_order", "selling"]
