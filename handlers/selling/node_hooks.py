"""The selling feature's effects of its timeline nodes, run only after the ledger claim.

They run in the claim's transaction (`bot.campaign.phases`), so a duplicate run (a second
`/open`, a restart, a scheduler run racing a leader's) loses the claim and repeats none of
them: stock is seeded, coupons are settled, and this process learns the group's new state
exactly once. Writes go through the claim's connection (a second connection would wait on
the claim's own write lock); changes to this process's memory wait for the commit.
"""

from __future__ import annotations

from datetime import datetime

from loguru import logger
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.campaign.nodes import NodeHook, NodeRun
from bot.campaign.render_memo import cached
from handlers.selling.discounts import wallet_on
from handlers.selling.pricing import close_instant, extras_of
from handlers.selling.service import selling
from handlers.selling.settlement import settle_group
from handlers.selling.store import OrderView

SEEDED = "selling:seeded"


def seed_stock(run: NodeRun, conn: Connection) -> None:
    """Stock rows exist for this campaign version: seeded once per transaction, not per group."""
    sell = selling(run.services)
    key = (SEEDED, run.campaign.id)
    if run.tx.get(key) is not run.campaign:
        sell.store.ensure_stock_in(conn, run.campaign, run.now)
        run.tx[key] = run.campaign
    campaign = run.campaign
    run.after_commit(lambda: sell.seeded_in_transaction(campaign.id, campaign))


def closed_at(run: NodeRun) -> datetime:
    """When the sale this run ends closed: the campaign's close for `close` (a late run stands for
    it), the run itself for a 限时返场's end (`reopen-close`), whose buyers are new since the close."""
    if run.node.kind == "reopen-close":
        return run.now
    return close_instant(run.now, run.closes_at)


def campaign_orders(run: NodeRun, conn: Connection) -> list[OrderView]:
    """The campaign's active orders in every group, read once per transaction.

    No order can commit while the transaction holds the write lock, so every group of
    the chunk sees the same orders it would have read on its own.
    """
    sell = selling(run.services)
    orders: list[OrderView] = cached(
        run.tx, ("selling:orders", run.campaign.id), lambda: sell.store.orders(run.campaign.id, conn=conn)
    )
    return orders


def hook_open(run: NodeRun, conn: Connection) -> None:
    """The group opens: stock exists; after the commit, ordering is known open and the group's
    still-queued "还没开团哦" replies are rewritten or dropped (the opening post is queued by then)."""
    sell = selling(run.services)
    seed_stock(run, conn)
    campaign_id, group_id = run.campaign.id, run.group_id

    def opened() -> None:
        sell.state_moved(campaign_id, group_id, "open")
        sell.drop_preopen_replies(group_id)

    run.after_commit(opened)


def hook_close(run: NodeRun, conn: Connection) -> None:
    """The group closes (the runtime set its state in this transaction, so an order racing it is
    committed before and counted, or refused after): settle the group's buyers' coupons at the
    close instant on this connection; after the commit, ordering is known closed."""
    sell = selling(run.services)
    seed_stock(run, conn)
    campaign = run.campaign
    settle_closed(run, conn)
    campaign_id, group_id = campaign.id, run.group_id
    run.after_commit(lambda: sell.state_moved(campaign_id, group_id, "closed"))


def settle_closed(run: NodeRun, conn: Connection) -> None:
    """Settle the closing group's buyers (coupons, credit, the quote the points hook prices too)
    at `closed_at(run)` on this connection. A failure is logged and the close still happens: a
    sale must close on time even if its settlement could not run."""
    campaign = run.campaign
    try:
        with conn.begin_nested():
            settle_group(
                wallet_on(run.services, conn),
                campaign.id,
                campaign.spend_tiers,
                campaign_orders(run, conn),
                run.group_id,
                closed_at(run),
                extras=extras_of(run.services, conn),
            )
    except OperationalError:
        raise
    except Exception:
        logger.opt(exception=True).error("settlement at {} of {} failed", run.node.kind, campaign.id)


NODE_HOOKS: dict[str, NodeHook] = {"open": hook_open, "close": hook_close, "broadcast": seed_stock}

__all__ = [
    "NODE_HOOKS",
    "campaign_orders",
    "closed_at",
    "hook_close",
    "hook_open",
    "seed_stock",
    "settle_closed",
]
