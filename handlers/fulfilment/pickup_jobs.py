"""The pickup reminder: one private nudge to each member whose goods still wait.

Scheduled once per campaign at close + `fulfilment.pickup_reminder_after`
(`handlers.fulfilment.pickup_close.after_close`). The rows to remind are claimed with
one conditional UPDATE that sets `reminded_at` (`... WHERE reminded_at IS NULL RETURNING`),
so a rerun, a restart or a second scheduling (another group closing later) reminds no
one twice; a crash between the commit and the send loses a reminder rather than doubling it.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import update

from bot.context import Services
from bot.vocab import Priority
from handlers.fulfilment.pickup_tables import CODES
from schedules import runtime


def claim_reminders(services: Services, campaign_id: str) -> list[tuple[str, str, str]]:
    """Mark the campaign's waiting codes as reminded, now; (member id, code, point) of each."""
    now = services.clock.now()
    with services.repo.engine.begin() as conn:
        rows = conn.execute(
            update(CODES)
            .where(
                CODES.c.campaign_id == campaign_id, CODES.c.picked_at.is_(None), CODES.c.reminded_at.is_(None)
            )
            .values(reminded_at=now)
            .returning(CODES.c.member_id, CODES.c.code, CODES.c.point)
        ).all()
    return sorted((r[0], r[1], r[2]) for r in rows)


async def send_pickup_reminders(services: Services, campaign_id: str) -> int:
    """Remind each member of the campaign whose code is not picked up yet, once; how many."""
    loaded = services.campaigns.campaigns.get(campaign_id)
    if loaded is None:  # unloaded since: nothing to say about it
        return 0
    campaign = loaded.campaign
    claimed = await asyncio.to_thread(claim_reminders, services, campaign_id)
    points = {p.name: p for p in campaign.pickup_points}
    for member_id, code, point in claimed:
        text = services.renderer.render(
            "pickup/reminder.j2",
            bot_name=services.config.bot.name,
            title=campaign.title,
            code=code,
            point_name=point,
            point=points.get(point),
        )
        services.outbox.enqueue(text, member_id=member_id, priority=Priority.DEFAULT, kind="pickup_reminder")
    return len(claimed)


async def job_pickup_reminder(campaign_id: str) -> None:
    """At close + pickup_reminder_after: the campaign's one pickup reminder round."""
    await send_pickup_reminders(runtime.current(Services), campaign_id)


__all__ = ["claim_reminders", "job_pickup_reminder", "send_pickup_reminders"]
