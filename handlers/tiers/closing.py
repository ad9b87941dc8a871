"""Tiers at close: the group's buyers are recomputed in the close's own transaction.

It rides the close node's ledger claim (`bot.feature.Feature.node_hooks`), after the selling
feature's hook (features run in `FEATURES` order): the group is closed in this transaction, so
its orders count from now on, and cancelled ones are gone. Before recomputing, it keeps the
member discount each buyer was just priced with (`handlers.tiers.settled`), so a buyer this close
promotes is not discounted afterwards in a campaign its results post showed undiscounted. A close
that runs twice loses the claim and recomputes nothing; were the hook run again in the same
close, it reads the rows it just wrote and promotes nobody twice.

Each promoted buyer gets one private message, written to the outbox in this same transaction
(`Outbox.enqueue_in`) and queued once it commits; never a group post. The in-memory book takes
the new tiers after the commit too, so a rolled-back close changes no member's perks.
"""

from __future__ import annotations

from loguru import logger
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.campaign.nodes import NodeHook, NodeRun
from bot.context import Services
from bot.outbox import Draft
from bot.vocab import Priority
from handlers.selling.node_hooks import campaign_orders
from handlers.tiers.book import TierBook
from handlers.tiers.settled import settle_in
from handlers.tiers.store import Change, credited_inviters, recompute_in

KIND = "tiers"


def promotion_draft(services: Services, book: TierBook, change: Change, name: str) -> Draft:
    """The private message telling a member they reached a tier."""
    renderer, config = services.renderer, services.config
    text = renderer.render(
        "tiers/promoted.j2",
        bot_name=config.bot.name,
        name=name,
        held=change.after,
        level=book.level(change.after),
        upper=book.next_level(change.after),
    )
    # After the close's posts and the buyers' pickup codes: good news can wait its turn.
    return Draft(text=text, member_id=change.member_id, priority=Priority.DEFAULT, kind=KIND)


def hook_close(run: NodeRun, conn: Connection) -> None:
    """Recompute this group's buyers (and inviters whose invites this close credited: the referral
    feature's close hook runs before this one) and tell the promoted ones, with the close."""
    services, campaign, group_id = run.services, run.campaign, run.group_id
    settings = services.config.tiers
    book = services.find(TierBook)
    if book is None or not settings.active:
        return
    try:
        with conn.begin_nested():
            names: dict[str, str] = {}
            for order in campaign_orders(run, conn):
                if order.group_id == group_id:
                    names[order.member_id] = order.member_name or names.get(order.member_id, "")
            # What selling's hook just priced the buyers with, before this close promotes anyone.
            settle_in(conn, book, campaign.id, names, run.now)
            if any(level.invites for level in settings.levels):  # credited by referral's close hook
                for member_id, name in credited_inviters(conn, campaign.id, group_id).items():
                    names.setdefault(member_id, name)
            changes = recompute_in(
                conn, settings.levels, list(names), run.now, campaign_id=campaign.id, group_id=group_id
            )
            drafts = [promotion_draft(services, book, c, names[c.member_id]) for c in changes if c.promoted]
            admit = services.outbox.enqueue_in(conn, drafts)[1] if drafts else None
    except OperationalError:
        raise  # the database: the chunk is retried, as for any hook
    except Exception:
        logger.bind(campaign=campaign.id, group=group_id).opt(exception=True).error(
            "tiers: recompute at close failed; the close goes on without it"
        )
        return
    held = {c.member_id: c.held for c in changes}
    run.after_commit(lambda: book.update(held, run.now))
    if admit is not None:
        run.after_commit(admit)
    logger.bind(campaign=campaign.id, group=group_id).info(
        "tiers: {} buyer(s) recomputed at close, {} promoted", len(changes), len(drafts)
    )


NODE_HOOKS: dict[str, NodeHook] = {"close": hook_close, "reopen-close": hook_close}  # a 返场 closes too

__all__ = ["KIND", "NODE_HOOKS", "hook_close", "promotion_draft"]
