"""Refunds and resends recorded by after-sales, and what they do to the money.

A refund (退款) lowers what the member owes and the campaign's net; a resend (补发) is the
leader's cost: the member owes the same, the campaign's net drops by the resent value
(`handlers.fulfilment.dues.campaign_net`). One ticket records at most one refund and one
resend: recording the same (ticket, kind) again replaces its amount, so a retried or
corrected `/ticket 12 退款 ¥9.90` never counts twice. Ticket id 0 (not from a ticket) always adds.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from bot.storage.engine import connected
from handlers.fulfilment.payment_tables import ADJUSTMENTS

KINDS = ("refund", "resend")
AdjustmentKind = Literal["refund", "resend"]


def record_adjustment(
    conn: Connection,
    campaign_id: str,
    member_id: str,
    kind: str,
    cents: int,
    ticket_id: int,
    by: str,
    now: datetime,
) -> None:
    """Record a refund or resend of `cents` fen for a member, in the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(f"adjustment kind must be one of {KINDS}, not {kind!r}")
    if cents < 0:
        raise ValueError("an adjustment is a non-negative amount in fen")
    if ticket_id:
        done = conn.execute(
            update(ADJUSTMENTS)
            .where(
                ADJUSTMENTS.c.campaign_id == campaign_id,
                ADJUSTMENTS.c.member_id == member_id,
                ADJUSTMENTS.c.kind == kind,
                ADJUSTMENTS.c.ticket_id == ticket_id,
            )
            .values(cents=cents, by=by, at=now)
        )
        if done.rowcount:
            return
    conn.execute(
        insert(ADJUSTMENTS).values(
            campaign_id=campaign_id,
            member_id=member_id,
            kind=kind,
            cents=cents,
            ticket_id=ticket_id,
            by=by,
            at=now,
        )
    )


def adjustments_of(conn_or_engine: Connection | Engine, campaign_id: str) -> dict[str, tuple[int, int]]:
    """Member id -> (refunded fen, resent fen) for a campaign (members without any are absent)."""
    query = select(ADJUSTMENTS.c.member_id, ADJUSTMENTS.c.kind, ADJUSTMENTS.c.cents).where(
        ADJUSTMENTS.c.campaign_id == campaign_id
    )
    with connected(conn_or_engine) as conn:
        rows = conn.execute(query).all()
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for member_id, kind, cents in rows:
        sums[member_id][0 if kind == "refund" else 1] += int(cents)
    return {member: (parts[0], parts[1]) for member, parts in sums.items()}


__all__ = ["KINDS", "AdjustmentKind", "adjustments_of", "record_adjustment"]
