"""The scheduled side of broadcasts: one persistent job per broadcast due later.

The job lives in the scheduler's own store (`schedules.jobs`), so it survives a restart; its
body only asks `Broadcasts.deliver`, which sends nothing twice (see handlers/broadcast/service.py),
so a replayed job, or one that runs after the author already saw it go, is harmless. Grace is
unbounded: a broadcast due while the bot was down still goes out once when it is back (its
author can `/broadcast cancel` it meanwhile).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.context import Services
from handlers.broadcast.service import broadcasts_of
from schedules.jobs import Grace

JOB_REF = "handlers.broadcast.jobs:job_broadcast"


def job_id(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


def schedule(services: Services, broadcast_id: int, when: datetime) -> bool:
    """(Re)schedule the broadcast at `when`; False when no scheduler runs in this process."""
    scheduler = services.campaigns.scheduler
    if scheduler is None:
        return False
    scheduler.at(
        JOB_REF,
        when,
        args=[broadcast_id],
        id=job_id(broadcast_id),
        name=f"broadcast {broadcast_id}",
        grace=Grace.UNBOUNDED,
    )
    return True


def unschedule(services: Services, broadcast_id: int) -> None:
    scheduler = services.campaigns.scheduler
    if scheduler is not None:
        scheduler.remove(job_id(broadcast_id))


async def reschedule_pending(services: Services) -> int:
    """At start, a job for every pending broadcast (same id, replaced): the table is the truth, so
    one whose job was lost (a store without persistence, a job removed by hand) still goes out."""
    if services.campaigns.scheduler is None:
        return 0
    rows = await asyncio.to_thread(broadcasts_of(services).pending)
    for row in rows:
        schedule(services, row.id, row.due_at)
    return len(rows)


async def send_now(services: Services, broadcast_id: int) -> int:
    """Deliver in a worker thread, then admit the posts on the loop; the number of posts."""
    count, admit = await asyncio.to_thread(
        broadcasts_of(services).deliver, broadcast_id, services.clock.now()
    )
    admit()
    return count


async def job_broadcast(broadcast_id: int) -> None:
    """Scheduled body (module-level so the persistent job store can import it by reference)."""
    from schedules import runtime

    await send_now(runtime.current(Services), broadcast_id)


__all__ = ["JOB_REF", "job_broadcast", "job_id", "reschedule_pending", "schedule", "send_now", "unschedule"]
