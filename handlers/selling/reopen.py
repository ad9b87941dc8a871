"""限时返场 (tail-period reopen): the `reopen` and `reopen-close` timeline nodes (docs/growth.md).

At ``reopen.at`` every closed group of the campaign reopens while stock is left: its state
becomes "reopen", and orders are ordinary 接龙 orders through the one writer (same conditional
stock decrement, so never oversold) that pay the 返场 price and get the 买赠 gifts
(`handlers.selling.batch`). At ``at + window`` the group closes again, the buyers' coupons are
settled as at a close, and a short results post says what the 返场 sold.

Effects run only in the hooks, after the ledger claim and in its transaction, so a duplicate run
repeats none of them; the runners only render, and post only where this run moved the group.
"""

from __future__ import annotations

from datetime import datetime

from loguru import logger
from sqlalchemy.engine import Connection

from bot.campaign.nodes import NodeHook, NodeRun
from bot.outbox import Draft
from bot.vocab import Priority
from handlers.selling.announcer import stock_rows
from handlers.selling.node_hooks import seed_stock, settle_closed
from handlers.selling.order_terms import reopen_terms
from handlers.selling.reopen_store import begin_reopen, end_reopen, reopen_sales
from handlers.selling.service import selling
from handlers.selling.stock import node_stock
from handlers.selling.tables import REOPEN

__all__ = ["NODE_HOOKS", "NODE_RUNNERS", "hook_reopen", "hook_reopen_close", "run_reopen", "run_reopen_close"]

_MOVED = "reopen:moved"


def hook_reopen(run: NodeRun, conn: Connection) -> None:
    """A closed group with stock left reopens; after the commit this process knows it."""
    campaign = run.campaign
    if reopen_terms(campaign) is None:
        return
    seed_stock(run, conn)
    if not any(line.stock > 0 for line in node_stock(run)):
        logger.bind(campaign=campaign.id, group=run.group_id).info("返场 skipped: nothing left to sell")
        return
    if not begin_reopen(conn, campaign.id, run.group_id, run.now):
        return
    run.tx[(_MOVED, campaign.id, run.group_id)] = True
    sell, campaign_id, group_id = selling(run.services), campaign.id, run.group_id
    run.after_commit(lambda: sell.state_moved(campaign_id, group_id, REOPEN))


def hook_reopen_close(run: NodeRun, conn: Connection) -> None:
    """The 返场 ends: ordering stops, its buyers' coupons are settled now (as at a close)."""
    campaign = run.campaign
    if not end_reopen(conn, campaign.id, run.group_id, run.now):
        return
    run.tx[(_MOVED, campaign.id, run.group_id)] = True
    settle_closed(run, conn)
    sell, campaign_id, group_id = selling(run.services), campaign.id, run.group_id
    run.after_commit(lambda: sell.state_moved(campaign_id, group_id, "closed"))


def _moved(run: NodeRun) -> bool:
    return bool(run.tx.get((_MOVED, run.campaign.id, run.group_id)))


def run_reopen(run: NodeRun) -> list[Draft]:
    """The 返场 post: what is left, at what price, the 买赠 rule and the recommendation."""
    section, terms = run.campaign.reopen, reopen_terms(run.campaign)
    if not _moved(run) or section is None or terms is None:
        return []
    rows = [
        row | {"reopen_cents": terms.price(row["code"], row["price_cents"])}
        for row in stock_rows(run.campaign, node_stock(run))
        if row["stock"] > 0
    ]
    recommended = [p for p in run.campaign.products if p.code in section.recommend_products]
    ends_at: datetime = run.fire_at + section.window
    text = selling(run.services).render(
        "reopen/open.j2",
        title=run.campaign.title,
        rows=rows,
        ends_at=ends_at,
        buy=terms.buy,
        get=terms.get,
        recommend=section.recommend or "",
        recommended=recommended,
    )
    return [Draft(text=text, group_id=run.group_id, priority=Priority.CAMPAIGN, kind="reopen")]


def run_reopen_close(run: NodeRun) -> list[Draft]:
    """The 返场's end: what it sold in this group."""
    if not _moved(run) or run.conn is None:
        return []
    sales = reopen_sales(run.conn, run.campaign.id, [run.group_id])
    products = [
        {
            "code": code,
            "name": selling(run.services).product_name(run.campaign, code),
            "paid": paid,
            "free": free,
        }
        for code, (paid, free) in sorted(sales.products.items())
        if paid or free
    ]
    text = selling(run.services).render(
        "reopen/closed.j2", title=run.campaign.title, sales=sales, products=products
    )
    return [Draft(text=text, group_id=run.group_id, priority=Priority.CAMPAIGN, kind="reopen-close")]


NODE_HOOKS: dict[str, NodeHook] = {"reopen": hook_reopen, "reopen-close": hook_reopen_close}
NODE_RUNNERS = {"reopen": run_reopen, "reopen-close": run_reopen_close}
