"""Reading purchases and writing tiers: the recompute, in the caller's transaction.

Purchases are read from the selling tables (never written): active orders of sales that have
closed in their group (`campaign_groups.status = 'closed'`, or a 限时返场's orders from before
it). A member cannot cancel after close, so what counts is final; an order of a sale still open
counts once that group closes, and its close (or its 返场's close) recomputes the buyer.

The recompute writes `member_tiers` (and a `tier_promotions` row per promotion) through the
caller's connection: at close, the claim's transaction, so a close run twice, which loses the
claim, recomputes nothing, and a hook run twice finds its own rows and promotes nobody again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.engine import Connection, Engine, Row

from bot.config_tiers import Tier
from bot.storage.engine import upsert_insert
from bot.vocab import SaleStatus
from handlers.referral.tables import CREDITED, INVITES
from handlers.selling.tables import ACTIVE, GROUPS, ORDERS, REOPEN, REOPENS
from handlers.tiers.rules import Held, Purchase, current, standing
from handlers.tiers.tables import PROMOTIONS, TIERS

CHUNK = 500
"""Members per `IN (...)` list: well under every database's parameter limit."""


@dataclass(frozen=True)
class Change:
    """One member's recompute: the tier in effect before and after, and every tier now held."""

    member_id: str
    before: Held | None
    after: Held | None
    held: tuple[Held, ...]

    @property
    def promoted(self) -> bool:
        """Raised above the tier in effect until now (from the base tier too)."""
        return self.after is not None and (self.before is None or self.after.rank > self.before.rank)

    @property
    def demoted(self) -> bool:
        return (self.before is not None) and (self.after is None or self.after.rank < self.before.rank)


def _chunks(members: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(members), CHUNK):
        yield members[start : start + CHUNK]


def window_start(tiers: Sequence[Tier], now: datetime) -> datetime:
    """The oldest moment any tier looks back to."""
    return now - timedelta(days=max(t.days for t in tiers))


def _counted(since: datetime | None) -> Select[Any]:
    """The purchases query: active orders of closed sales, placed after `since` (None: ever).

    A group in its 限时返场 (`reopen`) is closed again for what it sold before the reopen (order
    ids up to the window's `after_order_id`); its 返场 orders count once the 返场 closes.
    """
    final = (GROUPS.c.status == SaleStatus.CLOSED.value) | (
        (GROUPS.c.status == REOPEN) & (ORDERS.c.id <= REOPENS.c.after_order_id)
    )
    query = (
        select(
            ORDERS.c.member_id,
            ORDERS.c.campaign_id,
            (ORDERS.c.unit_price_cents * ORDERS.c.quantity).label("cents"),
            ORDERS.c.created_at,
        )
        .select_from(
            ORDERS.join(
                GROUPS,
                (GROUPS.c.campaign_id == ORDERS.c.campaign_id) & (GROUPS.c.group_id == ORDERS.c.group_id),
            ).outerjoin(
                REOPENS,
                (REOPENS.c.campaign_id == ORDERS.c.campaign_id) & (REOPENS.c.group_id == ORDERS.c.group_id),
            )
        )
        .where(ORDERS.c.status == ACTIVE, final)
    )
    return query if since is None else query.where(ORDERS.c.created_at > since)


def purchases_of(conn: Connection, members: Sequence[str], since: datetime) -> dict[str, list[Purchase]]:
    """Each member's counted purchases after `since` (members without any are left out)."""
    found: dict[str, list[Purchase]] = {}
    for chunk in _chunks(sorted(set(members))):
        rows = conn.execute(_counted(since).where(ORDERS.c.member_id.in_(chunk)).order_by(ORDERS.c.id))
        for member_id, campaign_id, cents, at in rows:
            found.setdefault(member_id, []).append(Purchase(campaign_id, int(cents), at))
    return found


def invites_of(conn: Connection, members: Sequence[str], since: datetime) -> dict[str, list[datetime]]:
    """When each member's invites were credited by 推荐有礼, after `since` (the `invites` criterion)."""
    found: dict[str, list[datetime]] = {}
    for chunk in _chunks(sorted(set(members))):
        rows = conn.execute(
            select(INVITES.c.by_id, INVITES.c.decided_at).where(
                INVITES.c.by_id.in_(chunk), INVITES.c.status == CREDITED, INVITES.c.decided_at > since
            )
        )
        for member_id, at in rows:
            found.setdefault(member_id, []).append(at)
    return found


def credited_inviters(conn: Connection, campaign_id: str, group_id: str) -> dict[str, str]:
    """Inviters (id -> name) with an invite of this campaign and group credited: a close makes them
    count toward the `invites` criterion, whether or not they bought themselves."""
    rows = conn.execute(
        select(INVITES.c.by_id, INVITES.c.inviter_name).where(
            INVITES.c.campaign_id == campaign_id, INVITES.c.group_id == group_id, INVITES.c.status == CREDITED
        )
    )
    return {member_id: name or "" for member_id, name in rows}


def everyone(conn: Connection, since: datetime) -> list[str]:
    """Members with a counted purchase or a credited invite after `since`, or a stored tier (to
    lapse it)."""
    buyers = conn.execute(_counted(since).with_only_columns(ORDERS.c.member_id).distinct()).scalars()
    inviters = conn.execute(
        select(INVITES.c.by_id).where(INVITES.c.status == CREDITED, INVITES.c.decided_at > since).distinct()
    ).scalars()
    tiered = conn.execute(select(TIERS.c.member_id).distinct()).scalars()
    return sorted({*buyers, *inviters, *tiered})


def _row_held(row: Row[Any]) -> Held:
    return Held(
        rank=int(row.rank),
        name=str(row.tier),
        expires_at=row.expires_at,
        reached_by=str(row.reached_by),
        spend_cents=int(row.spend_cents),
        orders=int(row.orders),
        since=row.since,
    )


def stored(source: Connection | Engine, members: Sequence[str] | None = None) -> dict[str, list[Held]]:
    """Stored tiers by member (all members when `members` is None), lowest first."""
    found: dict[str, list[Held]] = {}

    def read(conn: Connection, chunk: Sequence[str] | None) -> None:
        query = select(TIERS).order_by(TIERS.c.member_id, TIERS.c.rank)
        if chunk is not None:
            query = query.where(TIERS.c.member_id.in_(chunk))
        for row in conn.execute(query):
            found.setdefault(row.member_id, []).append(_row_held(row))

    if isinstance(source, Engine):
        with source.connect() as conn:
            return stored(conn, members)
    if members is None:
        read(source, None)
    else:
        for chunk in _chunks(sorted(set(members))):
            read(source, chunk)
    return found


def recompute_in(
    conn: Connection,
    tiers: Sequence[Tier],
    members: Sequence[str],
    now: datetime,
    *,
    campaign_id: str = "",
    group_id: str = "",
) -> list[Change]:
    """Recompute `members` from their purchases and store the result through `conn`.

    A tier still held keeps its `since`; one that ran out before now starts again. Members are
    written in id order (two recomputes on PostgreSQL then lock rows in the same order).
    """
    members = sorted(set(members))
    if not members or not tiers:
        return []
    ranks = {tier.name: rank for rank, tier in enumerate(tiers, start=1)}  # a tier no longer declared: none
    since = window_start(tiers, now)
    purchases = purchases_of(conn, members, since)
    invites = invites_of(conn, members, since) if any(t.invites for t in tiers) else {}
    before = stored(conn, members)
    insert_row = upsert_insert(conn)
    changes: list[Change] = []
    for member_id in members:
        old = {h.name: h for h in before.get(member_id, [])}
        held = tuple(
            replace(h, since=old[h.name].since if h.name in old and now < old[h.name].expires_at else now)
            for h in standing(tiers, purchases.get(member_id, []), now, invites.get(member_id, []))
        )
        lapsed = sorted(set(old) - {h.name for h in held})
        if lapsed:  # most buyers of a close hold no tier, before or after: no statement for them
            conn.execute(delete(TIERS).where(TIERS.c.member_id == member_id, TIERS.c.tier.in_(lapsed)))
        for h in held:
            values = {
                "rank": h.rank,
                "since": h.since,
                "expires_at": h.expires_at,
                "reached_by": h.reached_by,
                "spend_cents": h.spend_cents,
                "orders": h.orders,
                "campaign_id": campaign_id,
                "computed_at": now,
            }
            conn.execute(
                insert_row(TIERS)
                .values(member_id=member_id, tier=h.name, **values)
                .on_conflict_do_update(index_elements=[TIERS.c.member_id, TIERS.c.tier], set_=values)
            )
        declared = [replace(h, rank=ranks[h.name]) for h in old.values() if h.name in ranks]
        change = Change(member_id, current(declared, now), current(held, now), held)
        if change.promoted and change.after is not None:
            conn.execute(
                insert(PROMOTIONS).values(
                    member_id=member_id,
                    tier=change.after.name,
                    rank=change.after.rank,
                    previous=change.before.name if change.before is not None else "",
                    campaign_id=campaign_id,
                    group_id=group_id,
                    created_at=now,
                )
            )
        changes.append(change)
    return changes


def recomputed_since(conn: Connection, since: datetime) -> dict[str, datetime]:
    """Members whose tiers were written after `since`, with when (an index range: the followers'
    cheap first look, `handlers.tiers.shared`). A member recomputed to the base tier has no row."""
    rows = conn.execute(
        select(TIERS.c.member_id, func.max(TIERS.c.computed_at))
        .where(TIERS.c.computed_at > since)
        .group_by(TIERS.c.member_id)
    )
    return {str(member_id): at for member_id, at in rows}


def has_counted_orders(engine: Engine) -> bool:
    """Whether any closed sale has an active order (start-up: is an empty tier table a gap?)."""
    with engine.connect() as conn:
        return conn.execute(_counted(None).limit(1)).first() is not None


__all__ = [
    "CHUNK",
    "Change",
    "everyone",
    "has_counted_orders",
    "purchases_of",
    "recompute_in",
    "recomputed_since",
    "stored",
    "window_start",
]
