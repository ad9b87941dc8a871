"""Invites decided at close: credited and paid, held for the admins, or lapsed.

It rides the close node's ledger claim (`bot.feature.Feature.node_hooks`): the decisions,
the payouts and the posts are written in the transaction that claims the close for the group,
after the selling feature's hook (features run in `FEATURES` order), so ordering is closed and
cancelled orders are gone from `campaign_orders`. A close that runs twice loses the claim;
were the hook run again anyway, only pending invites are decided (a decided one is left as it
is) and every payout's key (member, what) makes a second payment a no-op.

For each pending invite of the group: no active order of the invitee in this group's orders
-> lapsed; an anti-cheat rule broken (`anticheat.flags`) -> held, listed privately to every
admin in one notice; otherwise credited, and both sides and the inviter's new ladder rungs are
paid. Members paid get one private note each; the group gets the final board.

Whether an invitee spoke is read from the inbound log (`inbound_messages`). A message still in
the write-behind queue at the close instant is not seen: the invite then looks silent and can
only be held, never paid wrongly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from loguru import logger
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.campaign.active import ActiveCampaign
from bot.campaign.nodes import NodeHook, NodeRun
from bot.outbox import Draft
from bot.vocab import Priority
from handlers.orderguard.signals import mask_member
from handlers.points.ledger import points_of
from handlers.referral.anticheat import Facts, flags
from handlers.referral.board import FINAL_KIND, PROGRESS_KIND, render_board
from handlers.referral.payout import Paid, credit, plan_of
from handlers.referral.store import ReferralStore, spoke_by
from handlers.referral.tables import HELD, INVITES, LAPSED, PENDING
from handlers.selling.node_hooks import campaign_orders


def facts_of(rows: Iterable[Any], spoke: set[str]) -> list[Facts]:
    return [
        Facts(
            invite_id=r.id,
            inviter=r.by_id,
            invitee=r.member_id,
            name=r.member_name,
            joined_at=r.joined_at,
            left_at=r.left_at,
            seen_elsewhere=bool(r.seen_elsewhere),
            spoke=r.member_id in spoke,
        )
        for r in rows
    ]


def hook_close(run: NodeRun, conn: Connection) -> None:
    """Decide this group's pending invites in the close's own transaction."""
    section = run.campaign.referral
    if section is None or not section.enabled:
        return
    outbox, group_id = run.services.outbox, run.group_id

    def drop_progress() -> None:
        """A progress post still waiting would show pending counts after the close: dropped, always."""
        outbox.cancel_queued(group_id=group_id, kind=PROGRESS_KIND)

    run.after_commit(drop_progress)
    try:
        with conn.begin_nested():
            drafts = decide(run, conn)
            if drafts:
                _ids, admit = outbox.enqueue_in(conn, drafts)
                run.after_commit(admit)
    except OperationalError:
        raise  # the database: the chunk is retried, as for any hook
    except Exception:
        logger.bind(campaign=run.campaign.id, group=run.group_id).opt(exception=True).error(
            "referral: deciding invites at close failed; the close goes on without them"
        )


def decide(run: NodeRun, conn: Connection) -> list[Draft]:
    """Decide, pay, and draft the notices and the board (nothing when the group had no invite)."""
    campaign, group_id, now = run.campaign, run.group_id, run.now
    section = campaign.referral
    assert section is not None
    pending = conn.execute(
        select(INVITES)
        .where(
            INVITES.c.campaign_id == campaign.id, INVITES.c.group_id == group_id, INVITES.c.status == PENDING
        )
        .order_by(INVITES.c.id)
    ).all()
    if not pending:
        return []
    inviters = sorted({r.by_id for r in pending})
    related = conn.execute(
        select(INVITES).where(INVITES.c.campaign_id == campaign.id, INVITES.c.by_id.in_(inviters))
    ).all()
    spoke = spoke_by(conn, [r.member_id for r in related], now)
    flagged = flags(facts_of(related, spoke))
    buyers = {o.member_id for o in campaign_orders(run, conn) if o.group_id == group_id}
    active = ActiveCampaign(campaign, run.opens_at, run.opens_at, run.closes_at)
    plan, ledger = plan_of(active, now), points_of(run.services)
    paid: list[Paid] = []
    held: list[tuple[Any, tuple[str, ...]]] = []
    suspicious: list[tuple[Any, tuple[str, ...]]] = []
    for invite in pending:
        reasons = flagged.get(invite.id, ())
        if invite.member_id not in buyers:
            _set(conn, invite.id, LAPSED, reasons, run)
            if reasons:
                suspicious.append((invite, reasons))
        elif reasons:
            _set(conn, invite.id, HELD, reasons, run)
            held.append((invite, reasons))
        else:
            paid.extend(credit(conn, ledger, invite, plan, now, "close") or [])
    log = logger.bind(campaign=campaign.id, group=group_id)
    log.info("referral: {} invites decided, {} rewards paid, {} held", len(pending), len(paid), len(held))
    rows = ReferralStore(run.services.repo.engine).board(campaign.id, group_id, section.board.top, conn)
    return [
        *_admin_notice(run, held, suspicious),
        *_member_notes(run, paid),
        *_final_board(run, rows),
    ]


def _set(conn: Connection, invite_id: int, status: str, reasons: tuple[str, ...], run: NodeRun) -> None:
    conn.execute(
        INVITES.update()
        .where(INVITES.c.id == invite_id, INVITES.c.status == PENDING)
        .values(status=status, reasons=",".join(reasons), decided_at=run.now, decided_by="close")
    )


def _line(invite: Any, reasons: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id": invite.id,
        "invitee": mask_member(invite.member_name, invite.member_id),
        "inviter": mask_member(invite.inviter_name, invite.by_id),
        "reasons": list(reasons),
        "joined_at": invite.joined_at,
        "left_at": invite.left_at,
    }


def _admin_notice(run: NodeRun, held: list[Any], suspicious: list[Any]) -> list[Draft]:
    """One private notice per admin listing the held invites (and flagged ones nobody pays)."""
    if not held and not suspicious:
        return []
    services = run.services
    text = services.renderer.render(
        "referral/admin_held.j2",
        bot_name=services.config.bot.name,
        title=run.campaign.title,
        group=services.repo.group_name(run.group_id),
        held=[_line(i, r) for i, r in held],
        suspicious=[_line(i, r) for i, r in suspicious],
    )
    return [
        Draft(text, member_id=admin, priority=Priority.ALERT, kind="admin")
        for admin in sorted(services.config.admins)
    ]


def _member_notes(run: NodeRun, paid: list[Paid]) -> list[Draft]:
    """One private note per member paid in this close, listing what they got."""
    by_member: dict[str, list[Paid]] = {}
    for item in paid:
        by_member.setdefault(item.member_id, []).append(item)
    services = run.services
    return [
        Draft(
            services.renderer.render(
                "referral/paid.j2", bot_name=services.config.bot.name, title=run.campaign.title, items=items
            ),
            member_id=member_id,
            priority=Priority.CHATTER,
            kind="referral_paid",
        )
        for member_id, items in sorted(by_member.items())
    ]


def _final_board(run: NodeRun, rows: list[Any]) -> list[Draft]:
    section = run.campaign.referral
    if section is None or not section.board.post or not rows:
        return []
    text = render_board(run.services, run.campaign, rows, final=True)
    return [Draft(text, group_id=run.group_id, priority=Priority.CHATTER, kind=FINAL_KIND)]


NODE_HOOKS: dict[str, NodeHook] = {"close": hook_close}

__all__ = ["NODE_HOOKS", "decide", "facts_of", "hook_close"]
