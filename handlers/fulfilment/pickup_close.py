"""Pickup codes at close: one code per buyer per campaign, issued in the close's own transaction.

The close node's hook (`hook_close_codes`) runs after the node's ledger row is claimed, in
that transaction (`bot.campaign.nodes`): a duplicate close run loses the claim and issues
nothing, and a member who bought in two groups already holds a code when the second group
closes. Codes reach members only once the transaction is committed, and only privately
(`send_codes`): a code in a group post would let anyone collect someone else's goods.
The same after-commit schedules the campaign's one pickup reminder (`handlers.fulfilment.pickup_jobs`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from loguru import logger
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.campaign import Campaign
from bot.campaign.nodes import NodeRun
from bot.context import Services
from bot.vocab import Priority
from handlers.fulfilment.codes import PickupCode, code_draw, new_code, point_of
from handlers.fulfilment.pickup_tables import CODES
from handlers.selling.node_hooks import campaign_orders, closed_at
from handlers.selling.store import OrderStore
from schedules.jobs import Grace

CODE_TRIES = 50
"""Fresh draws per buyer before giving up; with ~920k codes a campaign never needs a second."""
REMIND_JOB = "handlers.fulfilment.pickup_jobs:job_pickup_reminder"


def remind_job_id(campaign_id: str) -> str:
    return f"pickup-remind:{campaign_id}"


def hook_close_codes(run: NodeRun, conn: Connection) -> None:
    """The group closes: every buyer of this group without a code for the campaign gets one.

    A failure here is logged and the close still happens (as the coupon settlement does):
    a sale must close on time even if codes could not be made.
    """
    campaign = run.campaign
    try:
        with conn.begin_nested():
            issued = issue_codes(conn, campaign, run_buyers(run, conn), run.now, code_draw(run.services))
    except OperationalError:
        raise
    except Exception:
        logger.opt(exception=True).error(
            "pickup codes at close of {} in {} failed", campaign.id, run.group_id
        )
        return
    services = run.services
    at = closed_at(run)
    run.after_commit(lambda: after_close(services, campaign, issued))
    run.after_first_commit("pickup reminder", lambda: schedule_pickup_reminder(services, campaign, at))


def run_buyers(run: NodeRun, conn: Connection) -> list[str]:
    """The members with active orders in the closing group, in order of their first order."""
    members = (o.member_id for o in campaign_orders(run, conn) if o.group_id == run.group_id)
    return list(dict.fromkeys(members))


def issue_codes(
    conn: Connection,
    campaign: Campaign,
    buyers: list[str],
    now: datetime,
    draw: Callable[[], str] = new_code,
) -> list[PickupCode]:
    """Insert a code for each of `buyers` who has none in the campaign; the new codes.

    Collisions are avoided against the campaign's codes read here and, should another writer
    insert meanwhile, caught by the unique keys (each insert in its own savepoint, so the
    transaction survives on PostgreSQL too).
    """
    rows = conn.execute(
        select(CODES.c.member_id, CODES.c.code).where(CODES.c.campaign_id == campaign.id)
    ).all()
    holders = {r[0] for r in rows}
    taken = {r[1] for r in rows}
    wanted = [m for m in buyers if m not in holders]
    if not wanted:
        return []
    chosen = OrderStore(conn.engine).pickups(campaign.id, conn=conn)
    issued: list[PickupCode] = []
    for member_id in wanted:
        point = point_of(campaign, chosen.get(member_id))
        code = _insert_one(conn, campaign.id, member_id, point, now, taken, draw)
        if code is not None:
            taken.add(code)
            issued.append(PickupCode(campaign.id, member_id, point, code, now, None, ""))
    return issued


def _insert_one(
    conn: Connection,
    campaign_id: str,
    member_id: str,
    point: str,
    now: datetime,
    taken: set[str],
    draw: Callable[[], str],
) -> str | None:
    for _ in range(CODE_TRIES):
        code = draw()
        if code in taken:
            continue
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(CODES).values(
                        campaign_id=campaign_id, member_id=member_id, point=point, code=code, issued_at=now
                    )
                )
            return code
        except IntegrityError:
            held = conn.execute(
                select(CODES.c.code).where(CODES.c.campaign_id == campaign_id, CODES.c.member_id == member_id)
            ).first()
            if held is not None:
                return None  # issued meanwhile by another writer: theirs stands
            taken.add(code)
    raise RuntimeError(f"no free pickup code for {member_id} in {campaign_id} after {CODE_TRIES} draws")


def after_close(services: Services, campaign: Campaign, issued: list[PickupCode]) -> None:
    """After the commit: each new code goes privately to its member, and is masked in every group
    post from now on (a member may paste it in the group)."""
    services.outbox.group_filter.hide(code.code for code in issued)
    send_codes(services, campaign, issued)


def schedule_pickup_reminder(services: Services, campaign: Campaign, closed_at: datetime) -> None:
    """Once per close (not per group): the campaign's pickup reminder job."""
    after = campaign.fulfilment.pickup_reminder_after
    scheduler = services.campaigns.scheduler
    if after is None or scheduler is None:
        return
    scheduler.at(
        REMIND_JOB,
        closed_at + after,
        args=[campaign.id],
        id=remind_job_id(campaign.id),
        name=f"pickup reminder {campaign.id}",
        grace=Grace.UNBOUNDED,  # late is still useful; the rows say who was reminded already
    )


def send_codes(services: Services, campaign: Campaign, codes: list[PickupCode]) -> None:
    """One private message per code: the code, the campaign, where and when to pick up."""
    points = {p.name: p for p in campaign.pickup_points}
    for code in codes:
        text = services.renderer.render(
            "pickup/code.j2",
            bot_name=services.config.bot.name,
            code=code.code,
            title=campaign.title,
            point_name=code.point,
            point=points.get(code.point),
        )
        services.outbox.enqueue(text, member_id=code.member_id, priority=Priority.ORDER, kind="pickup_code")


__all__ = ["hook_close_codes", "issue_codes", "remind_job_id", "send_codes"]
