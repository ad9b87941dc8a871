"""The after-sales job bodies (APScheduler imports them by reference: `handlers.aftersales.jobs:…`).

Module-level, with the ticket number as their only argument; the work and its once-only
guarantee are in `handlers.aftersales.escalation`.
"""

from __future__ import annotations

import asyncio

from bot.context import Services
from handlers.aftersales.escalation import mark_escalated, send_escalation
from schedules import runtime


async def job_ticket_reply(ticket_id: int) -> None:
    """At `first_reply_within` after opening: escalate to the admins if no leader has replied."""
    services = runtime.current(Services)
    await _escalate(services, ticket_id, "reply")


async def job_ticket_resolve(ticket_id: int) -> None:
    """At `resolve_within` after opening: escalate again if the ticket is still unresolved."""
    services = runtime.current(Services)
    await _escalate(services, ticket_id, "resolve")


async def _escalate(services: Services, ticket_id: int, stage: str) -> None:
    """The conditional UPDATE in a worker thread; the messages, if it was this run's, from the loop."""
    ticket = await asyncio.to_thread(mark_escalated, services, ticket_id, stage)
    if ticket is not None:
        send_escalation(services, ticket, stage)
