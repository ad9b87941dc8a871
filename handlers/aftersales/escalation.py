"""The 2-hour and 24-hour promises: one-off jobs per ticket, and the escalation they send.

When a ticket opens, two jobs are scheduled at its due times (`ticket-reply:{id}` at
`reply_due_at`, `ticket-resolve:{id}` at `resolve_due_at`; the times come from the
campaign's `fulfilment` section). Each job marks the ticket escalated with a conditional
UPDATE that also checks the ticket still waits and is due (`TicketStore.escalate`), and
only the call that marked it messages the admins, privately: a rerun, a restart or a job
that fires after the leader replied sends nothing.
"""

from __future__ import annotations

from loguru import logger

from bot.context import Services
from bot.vocab import Priority
from handlers.aftersales.store import Ticket, TicketStore
from schedules.jobs import Grace

REPLY_JOB = "handlers.aftersales.jobs:job_ticket_reply"
RESOLVE_JOB = "handlers.aftersales.jobs:job_ticket_resolve"
STAGES = ("reply", "resolve")


def reply_job_id(ticket_id: int) -> str:
    return f"ticket-reply:{ticket_id}"


def resolve_job_id(ticket_id: int) -> str:
    return f"ticket-resolve:{ticket_id}"


def schedule_escalations(services: Services, ticket: Ticket) -> None:
    """Schedule the ticket's two escalation jobs; without a scheduler (a bare app) nothing is timed."""
    scheduler = services.campaigns.scheduler
    if scheduler is None:
        logger.bind(ticket=ticket.id).warning(
            "aftersales: no scheduler, ticket {} will not escalate", ticket.id
        )
        return
    scheduler.at(
        REPLY_JOB,
        ticket.reply_due_at,
        args=[ticket.id],
        id=reply_job_id(ticket.id),
        name=f"ticket {ticket.id} first reply due",
        grace=Grace.UNBOUNDED,  # an escalation sent late still matters; never drop it
    )
    scheduler.at(
        RESOLVE_JOB,
        ticket.resolve_due_at,
        args=[ticket.id],
        id=resolve_job_id(ticket.id),
        name=f"ticket {ticket.id} resolution due",
        grace=Grace.UNBOUNDED,
    )


def mark_escalated(services: Services, ticket_id: int, stage: str) -> Ticket | None:
    """Mark the ticket escalated at `stage` ("reply": no first reply; "resolve": unresolved) if it is
    due and still waiting; the ticket when this call marked it, else None (a worker thread's part)."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, not {stage!r}")
    return TicketStore(services.repo.engine).escalate(ticket_id, stage, services.clock.now())


def send_escalation(services: Services, ticket: Ticket, stage: str) -> None:
    """Tell every admin, privately, that the ticket missed its promise (on the loop: the outbox)."""
    admins = sorted(services.config.admins)
    if not admins:
        logger.bind(ticket=ticket.id).warning(
            "aftersales: ticket {} is overdue and no admin is configured", ticket.id
        )
        return
    text = services.renderer.render(
        "aftersales/escalation.j2",
        bot_name=services.config.bot.name,
        t=ticket,
        stage=stage,
        group=services.repo.group_name(ticket.group_id),
        leaders=sorted(services.roles.leaders_of(ticket.group_id)),
    )
    for admin in admins:
        services.outbox.enqueue(text, member_id=admin, priority=Priority.ALERT, kind="aftersales-escalation")
    logger.bind(ticket=ticket.id).info(
        "aftersales: ticket {} escalated ({}) to {} admin(s)", ticket.id, stage, len(admins)
    )


def escalate(services: Services, ticket_id: int, stage: str) -> bool:
    """`mark_escalated` then `send_escalation`: True when this call escalated the ticket."""
    ticket = mark_escalated(services, ticket_id, stage)
    if ticket is None:
        return False
    send_escalation(services, ticket, stage)
    return True
