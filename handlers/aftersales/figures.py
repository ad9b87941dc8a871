"""The after-sales figures (definitions: docs/metrics.md, "After-sales"), from tickets by a pure function.

`aftersales_figures` takes the tickets and the number of buyers and computes everything by
hand-checkable rules; `figures_for` reads a campaign's tickets and buyers for `/stats`,
`tuanbot report` and the daily summary, and says None when there is nothing worth showing
(no ticket and the campaign not closed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.storage.tables import CampaignGroupState
from bot.templates import Renderer
from handlers.aftersales.store import Ticket, TicketStore

NEGATIVE_TARGET = 0.05
"""The documents' bar: negative feedback under 5% of buyers."""

LOW_RATING = 2
"""A rating at or below this counts as negative feedback."""


@dataclass(frozen=True)
class Figures:
    """What `aftersales_figures` computed; None where there is nothing to compute it from."""

    opened: int
    open_now: int
    replied: int
    median_reply: timedelta | None
    p90_reply: timedelta | None
    replied_in_time_pct: float | None
    resolved_in_time_pct: float | None
    rated: int
    average_rating: float | None
    negative_members: int
    buyers: int
    negative_rate: float | None  # 0..1
    target: float = NEGATIVE_TARGET

    @property
    def over_target(self) -> bool:
        return self.negative_rate is not None and self.negative_rate >= self.target

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON: durations in minutes, the rate in percent."""

        def minutes(value: timedelta | None) -> float | None:
            return None if value is None else round(value.total_seconds() / 60, 1)

        return {
            "tickets_opened": self.opened,
            "tickets_open": self.open_now,
            "median_first_reply_min": minutes(self.median_reply),
            "p90_first_reply_min": minutes(self.p90_reply),
            "replied_in_time_pct": self.replied_in_time_pct,
            "resolved_in_time_pct": self.resolved_in_time_pct,
            "ratings": self.rated,
            "average_rating": self.average_rating,
            "negative_members": self.negative_members,
            "buyers": self.buyers,
            "negative_rate_pct": None if self.negative_rate is None else round(100 * self.negative_rate, 1),
            "negative_target_pct": round(100 * self.target, 1),
        }


def nearest_rank(values: Sequence[timedelta], share: float) -> timedelta | None:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def median(values: Sequence[timedelta]) -> timedelta | None:
    """The middle value; the mean of the two middle ones for an even count."""
    if not values:
        return None
    ordered, half = sorted(values), len(values) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def _pct(hits: int, of: int) -> float | None:
    return round(100 * hits / of, 1) if of else None


def aftersales_figures(tickets: Iterable[Ticket], buyers: int, now: datetime | None = None) -> Figures:
    """The figures of these tickets over `buyers` (distinct members who ordered).

    With `now`, a ticket still inside a promise's window, not yet answered and not escalated is
    left out of that promise's percentage (it can still keep it); without `now` every ticket counts.
    """
    items = list(tickets)
    waits = [t.first_reply_at - t.opened_at for t in items if t.first_reply_at is not None]
    reply_decided = [
        t
        for t in items
        if t.first_reply_at is not None
        or t.escalated_reply_at is not None
        or now is None
        or now >= t.reply_due_at
    ]
    reply_kept = [
        t for t in reply_decided if t.first_reply_at is not None and t.first_reply_at <= t.reply_due_at
    ]
    resolve_decided = [
        t
        for t in items
        if t.resolved_at is not None
        or t.escalated_resolve_at is not None
        or now is None
        or now >= t.resolve_due_at
    ]
    resolve_kept = [
        t for t in resolve_decided if t.resolved_at is not None and t.resolved_at <= t.resolve_due_at
    ]
    ratings = [t.rating for t in items if t.rating is not None]
    negative = {t.member_id for t in items} | {
        t.member_id for t in items if t.rating is not None and t.rating <= LOW_RATING
    }
    return Figures(
        opened=len(items),
        open_now=sum(1 for t in items if t.resolved_at is None),
        replied=len(waits),
        median_reply=median(waits),
        p90_reply=nearest_rank(waits, 0.9),
        replied_in_time_pct=_pct(len(reply_kept), len(reply_decided)),
        resolved_in_time_pct=_pct(len(resolve_kept), len(resolve_decided)),
        rated=len(ratings),
        average_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
        negative_members=len(negative),
        buyers=buyers,
        negative_rate=len(negative) / buyers if buyers else None,
    )


def figures_text(figures: Figures, renderer: Renderer | None = None) -> str:
    """The figures as the chat shows them (`aftersales/_figures.j2`), for `tuanbot report`."""
    return (renderer or Renderer()).render("aftersales/_figures.j2", f=figures)


def _closed(engine: Engine, campaign_id: str, group_ids: Iterable[str] | None) -> bool:
    table = CampaignGroupState.__table__  # type: ignore[attr-defined]
    query = select(table.c.group_id).where(table.c.campaign_id == campaign_id, table.c.status == "closed")
    if group_ids is not None:
        query = query.where(table.c.group_id.in_(list(group_ids)))
    with engine.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None


def figures_for(
    engine: Engine, campaign_id: str, group_ids: Iterable[str] | None = None, now: datetime | None = None
) -> Figures | None:
    """The campaign's figures (in these groups when given), or None with no ticket before the close."""
    groups = list(group_ids) if group_ids is not None else None
    store = TicketStore(engine)
    tickets = store.of_campaign(campaign_id, groups)
    if not tickets and not _closed(engine, campaign_id, groups):
        return None
    return aftersales_figures(tickets, store.buyers(campaign_id, groups), now)
