"""The poster at close: drawn once per close, sent to each group exactly once, with its close.

It rides the close node's ledger claim (`bot.feature.Feature.node_hooks`): in the transaction
that claims the close for a group, this hook writes the poster's outbox row for that group
(`Outbox.enqueue_in`); the row enters the send queue once that transaction commits. So a close
that runs twice (a leader's /close racing the schedule, a retried chunk) loses the claim and
queues nothing, and a restart after the commit finds the row in the table and sends it once.

The picture is drawn once per close node run (`NodeRun.memo`, shared by its chunks of groups)
from the figures read through the claim's connection, and written to disk before any row names
it. It runs after the selling feature's close hook (features run in `FEATURES` order), so the
group's coupons are settled and ordering is closed. A campaign without a buyer gets no poster,
as it gets no results post. Drawing failing never fails the close: it is logged, and the close
goes on without a poster.
"""

from __future__ import annotations

from pathlib import Path

from loguru import logger
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.campaign.nodes import NodeRun
from bot.campaign.render_memo import cached
from bot.outbox import Draft
from bot.vocab import Priority
from handlers.poster.facts import facts_from
from handlers.poster.files import save_poster
from handlers.poster.render import render_poster
from handlers.selling.node_hooks import campaign_orders
from handlers.selling.pricing import close_instant
from handlers.selling.store import OrderStore

# Right after the close's own posts (its results, thanks and preview are CAMPAIGN too, and the
# poster's row is written before theirs, so at the same priority it would leave first).
POSTER_PRIORITY = Priority.CAMPAIGN + 1
MEMO = "poster:drawn"


def hook_close(run: NodeRun, conn: Connection) -> None:
    """Queue the campaign's poster to this group in the close's own transaction."""
    campaign = run.campaign
    if not campaign.poster.enabled:
        return
    path: Path | None = cached(run.memo, (MEMO, campaign.id), lambda: _draw(run, conn))
    if path is None:
        return
    draft = Draft.image(path, group_id=run.group_id, priority=POSTER_PRIORITY)
    _ids, admit = run.services.outbox.enqueue_in(conn, [draft])
    run.after_commit(admit)


def _draw(run: NodeRun, conn: Connection) -> Path | None:
    """The poster's file for this close, or None (no buyer, or drawing failed: logged)."""
    services, campaign = run.services, run.campaign
    try:
        groups = services.campaigns.groups_of(campaign)
        stock = OrderStore(services.repo.engine).stock(campaign.id, conn)
        orders = campaign_orders(run, conn)
        at = close_instant(run.now, run.closes_at)
        facts = facts_from(services, campaign, groups, orders, stock, at=at, closed=True)
        if not facts.buyers:
            return None
        poster = render_poster(facts, renderer=services.renderer)
        path = save_poster(services.config, campaign.id, poster.png)
    except OperationalError:
        raise  # the database: the chunk is retried, as for any hook
    except Exception:
        logger.bind(campaign=campaign.id, node=run.node.node_id).opt(exception=True).error(
            "poster: could not draw the close's poster; the close goes on without it"
        )
        return None
    logger.bind(campaign=campaign.id, node=run.node.node_id).info("poster: drawn at {}", path)
    return path


NODE_HOOKS = {"close": hook_close}

__all__ = ["NODE_HOOKS", "POSTER_PRIORITY", "hook_close"]
