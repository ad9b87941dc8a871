"""Private payment reminders after close (payment "before_pickup" only).

At close + `payment_reminder_after` one job per campaign (`pay-remind:{campaign_id}`) reminds
each member who still owes, privately. Each reminder is first claimed in `payment_reminders`
with a conditional update (fewer than `payment_reminders` so far, the last one at least
`payment_reminder_every` ago), so a rerun at the same instant, or two processes racing, send
nothing twice. While someone still owes and has reminders left, the job reschedules itself
`payment_reminder_every` later. Reminders are only claimed and drafted in a worker thread; they
are queued on the loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from loguru import logger
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.campaign import Campaign
from bot.context import Services
from bot.vocab import Priority
from handlers.fulfilment.dues import Due, campaign_dues, owing
from handlers.fulfilment.payment_tables import REMINDERS
from handlers.selling.store import OrderStore
from schedules.jobs import Grace

JOB_REF = "handlers.fulfilment.payment_jobs:job_payment_reminders"


def job_id(campaign_id: str) -> str:
    return f"pay-remind:{campaign_id}"


def reminders_wanted(campaign: Campaign) -> bool:
    """Reminders only when members pay before pickup and the campaign allows at least one."""
    return campaign.fulfilment.payment == "before_pickup" and campaign.fulfilment.payment_reminders > 0


def schedule_reminders(services: Services, campaign: Campaign, when: datetime) -> bool:
    """(Re)schedule the campaign's reminder job at `when`; False when reminders are off or untimed."""
    scheduler = services.campaigns.scheduler
    if scheduler is None or not reminders_wanted(campaign):
        return False
    scheduler.at(
        JOB_REF,
        when,
        args=[campaign.id],
        id=job_id(campaign.id),
        name=f"payment reminders {campaign.id}",
        grace=Grace.UNBOUNDED,  # a late reminder is still right; the claims keep it to one
    )
    return True


@dataclass(frozen=True)
class Reminder:
    member_id: str
    text: str


def _claim(conn: Connection, campaign: Campaign, member_id: str, now: datetime) -> bool:
    """Take one reminder slot for the member: True if this run may send it."""
    rules = campaign.fulfilment
    due_before = now - rules.payment_reminder_every
    taken = conn.execute(
        update(REMINDERS)
        .where(
            REMINDERS.c.campaign_id == campaign.id,
            REMINDERS.c.member_id == member_id,
            REMINDERS.c.count < rules.payment_reminders,
            or_(REMINDERS.c.last_at.is_(None), REMINDERS.c.last_at <= due_before),
        )
        .values(count=REMINDERS.c.count + 1, last_at=now)
    )
    if taken.rowcount:
        return True
    exists = conn.execute(
        select(REMINDERS.c.count).where(
            and_(REMINDERS.c.campaign_id == campaign.id, REMINDERS.c.member_id == member_id)
        )
    ).first()
    if exists is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(
                insert(REMINDERS).values(campaign_id=campaign.id, member_id=member_id, count=1, last_at=now)
            )
    except IntegrityError:
        return False  # another run claimed it first
    return True


def _left(conn: Connection, campaign_id: str) -> dict[str, tuple[int, datetime | None]]:
    rows = conn.execute(
        select(REMINDERS.c.member_id, REMINDERS.c.count, REMINDERS.c.last_at).where(
            REMINDERS.c.campaign_id == campaign_id
        )
    ).all()
    return {r[0]: (int(r[1]), r[2]) for r in rows}


def claim_reminders(services: Services, campaign: Campaign) -> tuple[list[Reminder], bool]:
    """Claim and draft this run's reminders; also whether someone owing still has reminders left.

    Only members whose groups have all closed are reminded (their dues are final). Reads and
    writes the database: run it in a worker thread.
    """
    if not reminders_wanted(campaign):
        return [], False
    now = services.clock.now()
    store = OrderStore(services.repo.engine)
    statuses = store.group_statuses(campaign.id)
    groups: dict[str, set[str]] = {}
    for order in store.orders(campaign.id):
        groups.setdefault(order.member_id, set()).add(order.group_id)
    dues = campaign_dues(services, campaign)
    unpaid: list[Due] = [
        d for d in owing(dues) if all(statuses.get(g) == "closed" for g in groups.get(d.member_id, ()))
    ]
    reminders: list[Reminder] = []
    rules = campaign.fulfilment
    with services.repo.engine.begin() as conn:
        for due in unpaid:
            if _claim(conn, campaign, due.member_id, now):
                text = services.renderer.render(
                    "payments/reminder.j2", title=campaign.title, owed_cents=due.owed_cents, lines=due.lines
                )
                reminders.append(Reminder(due.member_id, text))
        counts = _left(conn, campaign.id)
    more = any(counts.get(d.member_id, (0, None))[0] < rules.payment_reminders for d in unpaid)
    return reminders, more


async def remind_payments(services: Services, campaign_id: str) -> int:
    """One reminder round for a campaign: send what was claimed, reschedule while needed."""
    loaded = services.campaigns.campaigns.get(campaign_id)
    if loaded is None:
        logger.info("payment reminders: campaign {} is not loaded; nothing sent", campaign_id)
        return 0
    campaign = loaded.campaign
    reminders, more = await asyncio.to_thread(claim_reminders, services, campaign)
    for reminder in reminders:
        services.outbox.enqueue(
            reminder.text, member_id=reminder.member_id, priority=Priority.DEFAULT, kind="payment_reminder"
        )
    if more:
        schedule_reminders(
            services, campaign, services.clock.now() + campaign.fulfilment.payment_reminder_every
        )
    logger.bind(campaign=campaign_id).info("payment reminders sent: {}", len(reminders))
    return len(reminders)


async def job_payment_reminders(campaign_id: str) -> None:
    """Scheduled body (module-level so the persistent job store can import it by reference)."""
    from schedules import runtime

    await remind_payments(runtime.current(Services), campaign_id)


__all__ = [
    "JOB_REF",
    "claim_reminders",
    "job_id",
    "job_payment_reminders",
    "remind_payments",
    "reminders_wanted",
    "schedule_reminders",
]
