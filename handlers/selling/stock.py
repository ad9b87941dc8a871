"""Stock posts (库存播报): at opening, at broadcast times, on low stock and sell-outs; `/stock`.

Stock is one pool per campaign shared by all its groups (one warehouse), so a
sell-out is news in every group the campaign runs in. Threshold posts are
coalesced per group: at most one per the campaign's `broadcasts.window`
(default 60 s); a queued post is replaced by a fresher rendering, and a post
that would say nothing new (no product newly below the low-stock threshold or
newly sold out) is not sent at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bot.campaign import Campaign
from bot.campaign.nodes import NodeRun, render_node
from bot.context import Context
from bot.events import GroupMessage
from bot.handler import command
from bot.outbox import Draft
from bot.storage.tables import OutboxRow
from bot.vocab import Priority, Role
from handlers.selling.orders import Selling, selling
from handlers.selling.store import Restock, StockLine

LOW = "low"
SOLD_OUT = "sold_out"
HOT_SHARE = 0.3
"""A broadcast says 火热 once this share of all units has sold (or something runs low): not for 2 of 250."""


def level(line: StockLine, threshold: float) -> str:
    """ok, low (below `threshold` of all units made available) or sold_out."""
    if line.stock <= 0:
        return SOLD_OUT
    if line.total and line.stock < line.total * threshold:
        return LOW
    return "ok"


def stock_rows(
    campaign: Campaign, lines: list[StockLine], news: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """What the stock templates show per product."""
    threshold = campaign.broadcasts.low_stock_threshold
    return [
        {
            "code": line.product_code,
            "name": line.name,
            "price_cents": line.price_cents,
            "unit": line.unit,
            "limit": line.limit_per_member,
            "stock": line.stock,
            "total": line.total,
            "sold": line.sold,
            "level": level(line, threshold),
            "news": bool(news and line.product_code in news),
        }
        for line in lines
    ]


@dataclass
class _Board:
    """Stock-post state of one campaign in one group."""

    last_at: datetime | None = None  # when the latest stock post was due to leave
    outbox_id: int | None = None
    levels: dict[str, str] = field(default_factory=dict)  # what the group has been told
    pending: dict[str, str] = field(default_factory=dict)  # news in the queued post
    last_sold: int = -1  # units sold as the last scheduled post (opening, broadcast) showed them


class StockAnnouncer:
    """Decides when a group hears about stock, and coalesces what it hears."""

    def __init__(self, sell: Selling) -> None:
        self.sell = sell
        self.boards: dict[tuple[str, str], _Board] = {}

    def board(self, campaign_id: str, group_id: str) -> _Board:
        return self.boards.setdefault((campaign_id, group_id), _Board())

    def after_sales(self, campaign_id: str) -> None:
        """After orders, cancellations or a restock committed: post what crossed a threshold."""
        campaign = self.sell.campaign(campaign_id)
        if campaign is None:
            return
        lines = self.sell.store.stock(campaign_id)
        threshold = campaign.broadcasts.low_stock_threshold
        levels = {line.product_code: level(line, threshold) for line in lines}
        for group_id in self.sell.groups_of(campaign):
            if self.sell.status(campaign_id, group_id) != "open":
                continue
            board = self.board(campaign_id, group_id)
            news = {
                code: lvl for code, lvl in levels.items() if lvl != "ok" and board.levels.get(code) != lvl
            }
            for code, lvl in levels.items():
                if lvl == "ok":
                    board.levels.pop(code, None)  # restocked: a later drop is news again
            if news:
                self.post(campaign, group_id, lines, news)

    def post(self, campaign: Campaign, group_id: str, lines: list[StockLine], news: dict[str, str]) -> None:
        services = self.sell.services
        board = self.board(campaign.id, group_id)
        now = services.clock.now()
        window = campaign.broadcasts.window.total_seconds()
        if board.outbox_id is not None:
            board.last_at = _sent_at(self.sell, board.outbox_id) or board.last_at
        delay = 0.0 if board.last_at is None else max(0.0, (board.last_at - now).total_seconds() + window)
        key = f"stock:{campaign.id}"

        def render(highlight: dict[str, str]) -> str:
            return self.sell._render(
                "stock/board.j2",
                reason="alert",
                title=campaign.title,
                rows=stock_rows(campaign, lines, highlight),
                closes_at=self.sell.times(campaign)[1],
            )

        grown, fresh = {**board.pending, **news}, dict(news)
        outbox_id = services.outbox.roll(
            board.outbox_id,
            lambda grow: (render(grown if grow else fresh), ()),
            group_id=group_id,
            replace_key=key,
            delay=delay,
            priority=Priority.CAMPAIGN,
            kind="stock",
        )
        if outbox_id != board.outbox_id:
            board.last_at = now + timedelta(seconds=delay)
        board.pending = grown if outbox_id == board.outbox_id else fresh
        board.outbox_id = outbox_id
        board.levels.update(news)

    def mark_posted(self, campaign: Campaign, group_id: str, lines: list[StockLine], now: datetime) -> None:
        """A scheduled post (open, broadcast) just showed the stock: count it in the window."""
        board = self.board(campaign.id, group_id)
        threshold = campaign.broadcasts.low_stock_threshold
        board.last_at = now
        board.levels = {
            line.product_code: level(line, threshold) for line in lines if level(line, threshold) != "ok"
        }
        board.last_sold = sum(line.sold for line in lines)


def _sent_at(sell: Selling, outbox_id: int) -> datetime | None:
    """When a stock post actually left (pacing may send it later than it was due); None if not yet."""
    with sell.services.repo.engine.connect() as conn:
        row = conn.execute(select(col(OutboxRow.sent_at)).where(col(OutboxRow.id) == outbox_id)).first()
    return row[0] if row is not None else None


# ------------------------------------------------------------------------------------ node runners
def run_open(run: NodeRun) -> list[Draft]:
    """T-0: the opening post with the first stock list (limited-time / limited-quantity labels)."""
    sell = selling(run.services)
    # Before the opening's transaction (which holds SQLite's write lock): a reply to an order
    # sent before the opening must not arrive after it.
    sell.drop_preopen_replies(run.group_id)
    sell.ensure_stock(run.campaign)
    lines = sell.store.stock(run.campaign.id)
    board = sell._render(
        "stock/board.j2",
        reason="open",
        title=run.campaign.title,
        rows=stock_rows(run.campaign, lines),
        closes_at=run.closes_at,
    )
    sell.announcer.mark_posted(run.campaign, run.group_id, lines, run.now)
    text = render_node(run, "campaign/open.j2") + "\n\n" + board
    return [Draft(text=text, group_id=run.group_id, priority=Priority.CAMPAIGN, kind="open")]


def run_broadcast(run: NodeRun) -> list[Draft]:
    """T+30m and friends: sales so far and 仅剩N件, worded from the numbers (火热 only when it is).

    A broadcast is news or nothing: it posts when more has sold than the last scheduled post
    (the opening or a broadcast) showed, or a product newly ran low or out.
    Otherwise an `every: 10m` timeline would repeat "已售 130 件" all night (issue 13.12).
    """
    sell = selling(run.services)
    if sell.status(run.campaign.id, run.group_id) != "open":
        return []
    sell.ensure_stock(run.campaign)
    lines = sell.store.stock(run.campaign.id)
    board = sell.announcer.board(run.campaign.id, run.group_id)
    threshold = run.campaign.broadcasts.low_stock_threshold
    news = {
        line.product_code
        for line in lines
        if level(line, threshold) not in ("ok", board.levels.get(line.product_code))
    }
    sold = sum(line.sold for line in lines)
    if not news and (sold <= max(board.last_sold, 0) or all(line.stock <= 0 for line in lines)):
        return []
    total = sum(line.total for line in lines)
    hot = any(level(line, threshold) != "ok" for line in lines) or (total > 0 and sold >= total * HOT_SHARE)
    rows = stock_rows(run.campaign, lines)
    text = render_node(run, "campaign/broadcast.j2", rows=rows, sold=sold, hot=hot)
    sell.announcer.mark_posted(run.campaign, run.group_id, lines, run.now)
    return [Draft(text=text, group_id=run.group_id, priority=Priority.CAMPAIGN, kind="broadcast")]


NODE_RUNNERS = {"open": run_open, "broadcast": run_broadcast}


# ------------------------------------------------------------------------------------ /stock
@command("stock", "库存", role=Role.LEADER)
async def handle_stock(msg: GroupMessage, ctx: Context) -> None:
    """/stock [编号] 查看库存；/stock A1 +20 补货（团长）"""
    sell = selling(ctx.services)
    picked = sell.pick(msg.group_id)
    if picked is None:
        ctx.reply("sales/no_campaign.j2", priority=Priority.COMMAND)
        return
    campaign = picked[0]
    sell.ensure_stock(campaign)
    args = [a.upper() for a in ctx.args]
    code = args[0] if args else None
    if code is not None and campaign.product(code) is None:
        reply_unknown_product(ctx, campaign, code)
        return
    if len(args) >= 2:
        amount = args[1].lstrip("+")
        if not amount.isdigit() or not 0 < int(amount) <= 100_000 or not args[1].startswith("+"):
            ctx.usage()
            return
        assert code is not None
        result = await sell.writer.submit(Restock(campaign.id, code, int(amount), ctx.clock.now()))
        if result.status != "ok":
            reply_unknown_product(ctx, campaign, code)
            return
        name = sell.product_name(campaign, code)
        for group_id in sell.groups_of(campaign):
            if sell.status(campaign.id, group_id) == "open":
                sell.announcer.board(campaign.id, group_id).levels.pop(code, None)
                ctx.send_group(
                    group_id,
                    "stock/restocked.j2",
                    code=code,
                    product=name,
                    added=int(amount),
                    stock=result.stock,
                    priority=Priority.CAMPAIGN,
                    kind="stock",
                )
        if sell.status(campaign.id, msg.group_id) != "open":
            ctx.reply(
                "stock/restocked.j2",
                code=code,
                product=name,
                added=int(amount),
                stock=result.stock,
                priority=Priority.COMMAND,
            )
        return
    lines = [line for line in sell.store.stock(campaign.id) if code is None or line.product_code == code]
    ctx.reply(
        "stock/board.j2",
        reason="show",
        title=campaign.title,
        rows=stock_rows(campaign, lines),
        closes_at=sell.times(campaign)[1],
        priority=Priority.COMMAND,
    )


__all__ = [
    "NODE_RUNNERS",
    "StockAnnouncer",
    "handle_stock",
    "level",
    "reply_unknown_product",
    "run_broadcast",
    "run_open",
]


def reply_unknown_product(ctx: Context, campaign: Campaign, code: str) -> None:
    """Tell a leader a product code is not in the campaign, listing the codes that are."""
    ctx.reply(
        "stock/unknown_product.j2",
        code=code,
        codes=[p.code for p in campaign.products],
        priority=Priority.COMMAND,
    )
