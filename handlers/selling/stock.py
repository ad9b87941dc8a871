"""Stock posts (库存播报): the opening board, broadcasts at their times, and `/stock`.

When stock crosses a threshold between those posts is the announcer's call
(`handlers.selling.announcer`).
"""

from __future__ import annotations

from bot.campaign import Campaign
from bot.campaign.nodes import NodeRun, render_node
from bot.campaign.render_memo import cached
from bot.context import Context
from bot.events import GroupMessage
from bot.handler import command
from bot.outbox import Draft
from bot.vocab import Priority, Role
from handlers.selling.announcer import HOT_SHARE, StockAnnouncer, level, stock_rows
from handlers.selling.ops import Restock, StockLine
from handlers.selling.service import selling


# ------------------------------------------------------------------------------------ node runners
def node_stock(run: NodeRun) -> list[StockLine]:
    """The campaign's stock, read once per node run through its claim's connection (after the
    node's hook seeded it); every group of the run shows the same figures."""
    sell = selling(run.services)
    lines: list[StockLine] = cached(
        run.memo, ("selling:stock", run.campaign.id), lambda: sell.store.stock(run.campaign.id, run.conn)
    )
    return lines


def run_open(run: NodeRun) -> list[Draft]:
    """T-0: the opening post with the first stock list (limited-time / limited-quantity labels).

    Renders only: the opening's effects (stock seeded, the pre-open replies dropped, ordering
    known open) are its hooks' (`handlers.selling.node_hooks`); the stock board counts this post
    once it is committed.
    """
    sell = selling(run.services)
    lines = node_stock(run)
    board = cached(
        run.memo,
        ("selling:open-board", run.campaign.id, run.closes_at),
        lambda: sell.render(
            "stock/board.j2",
            reason="open",
            title=run.campaign.title,
            rows=stock_rows(run.campaign, lines),
            closes_at=run.closes_at,
        ),
    )
    _count_post(run, lines)
    text = render_node(run, "campaign/open.j2") + "\n\n" + board
    return [Draft(text=text, group_id=run.group_id, priority=Priority.CAMPAIGN, kind="open")]


def _count_post(run: NodeRun, lines: list[StockLine]) -> None:
    """Once committed, a scheduled post (open, broadcast) showed these figures to the group."""
    announcer, campaign, group_id, now = selling(run.services).announcer, run.campaign, run.group_id, run.now
    run.after_commit(lambda: announcer.mark_posted(campaign, group_id, lines, now))


def run_broadcast(run: NodeRun) -> list[Draft]:
    """T+30m and friends: sales so far and 仅剩N件, worded from the numbers (火热 only when it is).

    A broadcast is news or nothing: it posts when more has sold than the last scheduled post
    (the opening or a broadcast) showed, or a product newly ran low or out.
    Otherwise an `every: 10m` timeline would repeat "已售 130 件" all night (issue 13.12).
    """
    sell = selling(run.services)
    if sell.status(run.campaign.id, run.group_id, run.conn) != "open":
        return []
    lines = node_stock(run)
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
    text = render_node(run, "campaign/broadcast.j2", memo_key="selling:stock", rows=rows, sold=sold, hot=hot)
    _count_post(run, lines)
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
