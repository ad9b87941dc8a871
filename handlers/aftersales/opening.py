"""Opening a ticket from a complaint, and who hears of it.

`open_or_add` runs in a worker thread: it finds the sender's latest order among the
complaint's campaigns (None: no orders, the FAQ answers instead), then either adds the text
to the member's unresolved ticket of that campaign (several messages are one complaint) or
opens a ticket with a snapshot of the member's order lines and the campaign's promises.
`announce` runs on the loop: the member's private acknowledgement with the ticket number,
each leader's private alert (the admins when the group has no leader), and the escalation
jobs. The complaint's text goes only to those private messages, never to a group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.context import Services
from bot.vocab import Priority
from handlers.aftersales.escalation import schedule_escalations
from handlers.aftersales.matcher import Complaint
from handlers.aftersales.store import Ticket, TicketStore
from handlers.selling.store import OrderStore

DEFAULT_REPLY_WITHIN = timedelta(hours=2)
DEFAULT_RESOLVE_WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class Opened:
    """The ticket the complaint opened, or (`added`) the open ticket it was added to."""

    ticket: Ticket
    added: bool = False
    text: str = ""


def promises(services: Services, campaign_id: str) -> tuple[timedelta, timedelta]:
    """(first reply within, resolve within) of the campaign; 2 h / 24 h when it is not loaded."""
    loaded = services.campaigns.campaigns.get(campaign_id)
    if loaded is None:
        return DEFAULT_REPLY_WITHIN, DEFAULT_RESOLVE_WITHIN
    fulfilment = loaded.campaign.fulfilment
    return fulfilment.first_reply_within, fulfilment.resolve_within


def product_names(services: Services, campaign_id: str) -> dict[str, str]:
    loaded = services.campaigns.campaigns.get(campaign_id)
    return {p.code: p.name for p in loaded.campaign.products} if loaded is not None else {}


def open_or_add(
    services: Services, complaint: Complaint, member_id: str, member_name: str, now: datetime
) -> Opened | None:
    """Open a ticket for the complaint, or add it to the member's open one; None without orders."""
    store = TicketStore(services.repo.engine)
    found = OrderStore(services.repo.engine).latest_order(
        member_id, complaint.campaign_ids, complaint.group_id
    )
    if found is None:
        return None
    campaign_id, group_id = found
    current = store.unresolved_of(campaign_id, member_id)
    if current is not None:
        store.add_text(current.id, complaint.text)
        return Opened(current, added=True, text=complaint.text)
    lines = store.order_lines(campaign_id, group_id, member_id, product_names(services, campaign_id))
    reply_within, resolve_within = promises(services, campaign_id)
    ticket = store.open(
        campaign_id=campaign_id,
        group_id=group_id,
        member_id=member_id,
        member_name=member_name,
        text=complaint.text[:2000],
        lines=[list(line) for line in lines],
        lines_cents=sum(line[3] for line in lines),
        opened_at=now,
        reply_due_at=now + reply_within,
        resolve_due_at=now + resolve_within,
    )
    return Opened(ticket, text=complaint.text)


def handlers_of(services: Services, group_id: str) -> list[str]:
    """Who answers a group's tickets: its leaders, else (a group without one) the admins."""
    return sorted(services.roles.leaders_of(group_id)) or sorted(services.config.admins)


def announce(services: Services, opened: Opened) -> None:
    """Acknowledge privately to the member and alert the leaders privately; time a new ticket."""
    ticket = opened.ticket
    render = services.renderer.render
    bot_name = services.config.bot.name
    group = services.repo.group_name(ticket.group_id)
    ack = render("aftersales/ack.j2", bot_name=bot_name, t=ticket, added=opened.added)
    services.outbox.enqueue(ack, member_id=ticket.member_id, priority=Priority.COMMAND, kind="aftersales")
    alert = render(
        "aftersales/leader_alert.j2",
        bot_name=bot_name,
        t=ticket,
        group=group,
        added=opened.added,
        text=opened.text,
    )
    for leader in handlers_of(services, ticket.group_id):
        services.outbox.enqueue(alert, member_id=leader, priority=Priority.ALERT, kind="aftersales-alert")
    if not opened.added:
        schedule_escalations(services, ticket)
