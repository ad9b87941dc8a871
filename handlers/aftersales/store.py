"""Reading and writing tickets (Core statements on `aftersales_tickets`), and the buyer's orders.

Each change is one conditional UPDATE (see `handlers.aftersales.tables`): its rowcount says
whether this call made the change, and only then does the caller tell anyone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from bot.storage.engine import connected
from handlers.aftersales.tables import AftersalesTicket
from handlers.selling.tables import ACTIVE, ORDERS

TICKETS = AftersalesTicket.__table__  # type: ignore[attr-defined]

Line = tuple[str, str, int, int]  # (code, name, quantity, amount_cents)


@dataclass(frozen=True)
class Ticket:
    """One ticket as read (see `AftersalesTicket` for the columns)."""

    id: int
    campaign_id: str
    group_id: str
    member_id: str
    member_name: str
    text: str
    lines: tuple[Line, ...]
    lines_cents: int
    opened_at: datetime
    reply_due_at: datetime
    resolve_due_at: datetime
    first_reply_at: datetime | None = None
    first_reply_by: str = ""
    resolved_at: datetime | None = None
    resolved_by: str = ""
    resolution: str = ""
    refund_cents: int = 0
    resend_cents: int = 0
    note: str = ""
    escalated_reply_at: datetime | None = None
    escalated_resolve_at: datetime | None = None
    rating: int | None = None
    rated_at: datetime | None = None

    @classmethod
    def of(cls, row: Any) -> Ticket:
        values = dict(row._mapping)
        values["lines"] = tuple(tuple(line) for line in json.loads(values["lines"] or "[]"))
        return cls(**values)


class TicketStore:
    """Tickets on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- the member's orders ---------------------------------------------------------------
    def order_lines(
        self, campaign_id: str, group_id: str, member_id: str, names: dict[str, str]
    ) -> list[Line]:
        """The member's lines in the campaign and group, one per product, by code."""
        query = (
            select(
                ORDERS.c.product_code,
                func.sum(ORDERS.c.quantity),
                func.sum(ORDERS.c.quantity * ORDERS.c.unit_price_cents),
            )
            .where(
                ORDERS.c.campaign_id == campaign_id,
                ORDERS.c.group_id == group_id,
                ORDERS.c.member_id == member_id,
                ORDERS.c.status == ACTIVE,
            )
            .group_by(ORDERS.c.product_code)
            .order_by(ORDERS.c.product_code)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(str(r[0]), names.get(str(r[0]), str(r[0])), int(r[1]), int(r[2])) for r in rows]

    def buyers(self, campaign_id: str, group_ids: Iterable[str] | None = None) -> int:
        """Distinct members with an active order in the campaign (in these groups when given)."""
        query = select(func.count(func.distinct(ORDERS.c.member_id))).where(
            ORDERS.c.campaign_id == campaign_id, ORDERS.c.status == ACTIVE
        )
        if group_ids is not None:
            query = query.where(ORDERS.c.group_id.in_(list(group_ids)))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    # -- opening ----------------------------------------------------------------------------
    def unresolved_of(self, campaign_id: str, member_id: str) -> Ticket | None:
        """The member's newest unresolved ticket in the campaign (a second message adds to it)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(TICKETS)
                .where(
                    TICKETS.c.campaign_id == campaign_id,
                    TICKETS.c.member_id == member_id,
                    TICKETS.c.resolved_at.is_(None),
                )
                .order_by(TICKETS.c.id.desc())
                .limit(1)
            ).first()
        return Ticket.of(row) if row else None

    def open(self, **values: Any) -> Ticket:
        """Insert a ticket (the `AftersalesTicket` columns; `lines` as a list) and read it back."""
        values["lines"] = json.dumps(values.get("lines", []), ensure_ascii=False)
        with self.engine.begin() as conn:
            result = conn.execute(insert(TICKETS).values(**values))
            ticket_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            row = conn.execute(select(TICKETS).where(TICKETS.c.id == ticket_id)).one()
        return Ticket.of(row)

    def add_text(self, ticket_id: int, text: str) -> None:
        """A follow-up message of the member joins the ticket's text (on a new line)."""
        with self.engine.begin() as conn:
            current = conn.execute(select(TICKETS.c.text).where(TICKETS.c.id == ticket_id)).scalar() or ""
            conn.execute(
                update(TICKETS).where(TICKETS.c.id == ticket_id).values(text=f"{current}\n{text}"[:4000])
            )

    # -- reading ----------------------------------------------------------------------------
    def get(self, ticket_id: int, conn: Connection | None = None) -> Ticket | None:
        with connected(conn if conn is not None else self.engine) as reading:
            row = reading.execute(select(TICKETS).where(TICKETS.c.id == ticket_id)).first()
        return Ticket.of(row) if row else None

    def unresolved(self, group_ids: Iterable[str] | None = None) -> list[Ticket]:
        """Open tickets, oldest first (in these groups when given)."""
        query = select(TICKETS).where(TICKETS.c.resolved_at.is_(None))
        if group_ids is not None:
            query = query.where(TICKETS.c.group_id.in_(list(group_ids)))
        with self.engine.connect() as conn:
            return [Ticket.of(r) for r in conn.execute(query.order_by(TICKETS.c.id)).all()]

    def of_campaign(self, campaign_id: str, group_ids: Iterable[str] | None = None) -> list[Ticket]:
        """Every ticket of the campaign (in these groups when given), oldest first."""
        query = select(TICKETS).where(TICKETS.c.campaign_id == campaign_id)
        if group_ids is not None:
            query = query.where(TICKETS.c.group_id.in_(list(group_ids)))
        with self.engine.connect() as conn:
            return [Ticket.of(r) for r in conn.execute(query.order_by(TICKETS.c.id)).all()]

    def awaiting_ratings(self, since: datetime) -> dict[str, datetime]:
        """Members with a ticket resolved since `since` and not rated -> the latest resolution (one query)."""
        query = (
            select(TICKETS.c.member_id, func.max(TICKETS.c.resolved_at))
            .where(TICKETS.c.resolved_at >= since, TICKETS.c.rating.is_(None))
            .group_by(TICKETS.c.member_id)
        )
        with self.engine.connect() as conn:
            return {str(r[0]): r[1] for r in conn.execute(query).all()}

    # -- changes ----------------------------------------------------------------------------
    def first_reply(self, conn: Connection, ticket_id: int, by: str, now: datetime) -> bool:
        """Record the leaders' first reply, once."""
        result = conn.execute(
            update(TICKETS)
            .where(TICKETS.c.id == ticket_id, TICKETS.c.first_reply_at.is_(None))
            .values(first_reply_at=now, first_reply_by=by)
        )
        return bool(result.rowcount)

    def resolve(self, conn: Connection, ticket_id: int, by: str, now: datetime, **values: Any) -> bool:
        """Resolve the ticket once (`resolution`, `refund_cents`, `resend_cents`, `note`); False if it was."""
        self.first_reply(conn, ticket_id, by, now)
        result = conn.execute(
            update(TICKETS)
            .where(TICKETS.c.id == ticket_id, TICKETS.c.resolved_at.is_(None))
            .values(resolved_at=now, resolved_by=by, **values)
        )
        return bool(result.rowcount)

    def escalate(self, ticket_id: int, stage: str, now: datetime) -> Ticket | None:
        """Mark the ticket escalated at `stage` ("reply" or "resolve") if it is due and still waiting;
        the ticket when this call marked it, None otherwise (replied, resolved, not due, or done)."""
        if stage == "reply":
            column, due, waiting = (
                TICKETS.c.escalated_reply_at,
                TICKETS.c.reply_due_at,
                TICKETS.c.first_reply_at,
            )
        else:
            column, due, waiting = (
                TICKETS.c.escalated_resolve_at,
                TICKETS.c.resolve_due_at,
                TICKETS.c.resolved_at,
            )
        with self.engine.begin() as conn:
            result = conn.execute(
                update(TICKETS)
                .where(
                    TICKETS.c.id == ticket_id,
                    column.is_(None),
                    waiting.is_(None),
                    TICKETS.c.resolved_at.is_(None),
                    due <= now,
                )
                .values({column.name: now})
            )
            return self.get(ticket_id, conn) if result.rowcount else None

    def rate(self, member_id: str, score: int, now: datetime, since: datetime) -> tuple[Ticket | None, bool]:
        """Rate the member's latest resolved, unrated ticket (resolved since `since`), once.

        Returns (the rated ticket or None, whether another ticket still awaits a rating).
        """
        unrated = (
            TICKETS.c.member_id == member_id,
            TICKETS.c.resolved_at >= since,
            TICKETS.c.rating.is_(None),
        )
        with self.engine.begin() as conn:
            ticket_id = conn.execute(
                select(TICKETS.c.id).where(*unrated).order_by(TICKETS.c.resolved_at.desc()).limit(1)
            ).scalar()
            rated = None
            if ticket_id is not None:
                result = conn.execute(
                    update(TICKETS)
                    .where(TICKETS.c.id == ticket_id, TICKETS.c.rating.is_(None))
                    .values(rating=score, rated_at=now)
                )
                rated = self.get(int(ticket_id), conn) if result.rowcount else None
            left = conn.execute(select(func.count()).select_from(TICKETS).where(*unrated)).scalar()
        return rated, bool(left)
