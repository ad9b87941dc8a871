"""The board's node hooks: it rides each `broadcast`, and the `open` starts the periodic check.

Node hooks run after the node's ledger claim, in the claim's transaction (`bot.feature`), so a
broadcast that runs twice (a retry, a restart) loses the claim and posts nothing more. Broadcasts
are sale nodes: the runtime skips them in a closed group, and the hook also checks the group's
sale is open. The board is computed once per transaction (`NodeRun.tx`) from the stock lines and
the active orders the selling feature reads for the node (`campaign_orders`): no order commits
while the claim holds the write lock, so every group of the chunk sees the same figures. It is
posted to a group only when it differs from that group's last board (`handlers.leaderboard.posting`).
A failure computing the board is logged and the broadcast goes on without it.
"""

from __future__ import annotations

from loguru import logger
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.campaign.leaderboard_models import LiveBoard
from bot.campaign.nodes import NodeHook, NodeRun
from bot.campaign.render_memo import cached
from bot.vocab import SaleStatus
from handlers.leaderboard.board import Board
from handlers.leaderboard.jobs import schedule_check
from handlers.leaderboard.posting import compute, post_if_changed
from handlers.selling.node_hooks import campaign_orders
from handlers.selling.service import selling

MEMO = "leaderboard:board"


def hook_broadcast(run: NodeRun, conn: Connection) -> None:
    """Queue this group's 实时销量榜 in the broadcast's transaction, if it is open and changed."""
    campaign = run.campaign
    section = campaign.leaderboard
    if section is None or not section.enabled or not section.with_broadcasts:
        return
    if selling(run.services).store.group_status(campaign.id, run.group_id, conn) != SaleStatus.OPEN:
        return
    board: Board | None = cached(run.tx, (MEMO, campaign.id), lambda: _board(run, conn, section))
    if board is None:
        return
    admit = post_if_changed(conn, run.services, campaign, run.group_id, board, run.now)
    if admit is not None:
        run.after_commit(admit)


def hook_open(run: NodeRun, conn: Connection) -> None:
    """With `every`: after the opening commits, the periodic check starts (one job per campaign)."""
    section = run.campaign.leaderboard
    if section is None or not section.enabled or section.every is None:
        return
    services, campaign_id, first = run.services, run.campaign.id, run.now + section.every
    run.after_first_commit("leaderboard", lambda: schedule_check(services, campaign_id, first))


def _board(run: NodeRun, conn: Connection, section: LiveBoard) -> Board | None:
    """The campaign's board from the figures read through the claim (None: failed, logged)."""
    campaign = run.campaign
    try:
        stock = selling(run.services).store.stock(campaign.id, conn)
        return compute(run.services, campaign, section, stock, campaign_orders(run, conn))
    except OperationalError:
        raise  # the database: the chunk is retried, as for any hook
    except Exception:
        logger.bind(campaign=campaign.id, node=run.node.node_id).opt(exception=True).error(
            "leaderboard: could not compute the board; the broadcast goes on without it"
        )
        return None


NODE_HOOKS: dict[str, NodeHook] = {"broadcast": hook_broadcast, "open": hook_open}

__all__ = ["NODE_HOOKS", "hook_broadcast", "hook_open"]
