"""Naming a group's 活跃之星 for a finished week and paying them, exactly once.

Each group is decided in its own transaction, whose first write is the claim: the `star_weeks`
row (group, week), inserted with ON CONFLICT DO NOTHING. The transaction that inserts it writes
the awards, credits the points through the points ledger (reason `star`, ref
`star:<group>:<week>`: once per member, group and week even without the claim) and queues the
announcement's outbox row (`Outbox.enqueue_in`); it all commits together or not at all. A rerun,
a second process or a restart finds the claim and repeats nothing; a crash before the commit
leaves no claim, and the next run does the whole group again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from loguru import logger
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from bot.context import Services
from bot.outbox import Draft
from bot.storage.engine import upsert_insert
from bot.storage.tables import MemberRow
from bot.vocab import Priority
from handlers.points.ledger import points_of
from handlers.selling.parse import safe_name
from handlers.stars.scoring import Standing, standings
from handlers.stars.tables import AWARDS, WEEKS
from handlers.stars.weeks import Week

POINTS_REASON = "star"
ANNOUNCE_KIND = "stars"
MEMBERS = MemberRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Star:
    member_id: str
    name: str
    rank: int
    score: int
    points: int


@dataclass(frozen=True)
class Named:
    """A group's week just decided: its stars, and the step that queues the announcement (call it
    on the event loop: the outbox's queue lives there)."""

    group_id: str
    stars: list[Star]
    admit: Callable[[], None]


def points_ref(group_id: str, week: Week) -> str:
    """The ledger's ref: one star payment per (member, group, week)."""
    return f"star:{group_id}:{week.key}"


def award_week(services: Services, week: Week, now: datetime) -> list[Named]:
    """Name and pay the stars of every group with a score that week; groups already done are
    left out (a blocking call: run it in a worker thread, then `admit` each on the loop)."""
    engine = services.repo.engine
    with engine.connect() as conn:
        table = standings(conn, services.config.stars.weights, week)
    done: list[Named] = []
    for group_id in sorted(table):
        named = award_group(services, group_id, week, table[group_id], now)
        if named is not None:
            done.append(named)
    return done


def award_group(
    services: Services, group_id: str, week: Week, ranked: list[Standing], now: datetime
) -> Named | None:
    """The group's stars for `week`, paid and announced; None if that week was already done."""
    settings = services.config.stars
    winners = [s for s in ranked if s.score >= settings.min_score][: settings.top]
    admit: Callable[[], None] = _nothing
    with services.repo.engine.begin() as conn:
        if not _claim(conn, group_id, week, len(winners), now):
            return None
        names = _names(conn, [s.member_id for s in winners])
        stars = [
            Star(s.member_id, names.get(s.member_id, "群友"), rank, s.score, settings.points)
            for rank, s in enumerate(winners, 1)
        ]
        for star in stars:
            conn.execute(
                insert(AWARDS).values(
                    group_id=group_id,
                    week=week.key,
                    member_id=star.member_id,
                    rank=star.rank,
                    score=star.score,
                    points=star.points,
                    week_start=week.start,
                    week_end=week.end,
                    created_at=now,
                )
            )
        ledger = points_of(services)
        for star in sorted(stars, key=lambda s: s.member_id):  # balance rows locked in id order
            if star.points:
                ledger.credit_in(
                    conn,
                    star.member_id,
                    star.points,
                    POINTS_REASON,
                    points_ref(group_id, week),
                    now=now,
                    group_id=group_id,
                )
        if stars:
            text = services.renderer.render(
                "stars/announce.j2", bot_name=services.config.bot.name, stars=stars, week=week
            )
            draft = Draft(
                text=text,
                group_id=group_id,
                priority=Priority.DEFAULT,
                kind=ANNOUNCE_KIND,
                mentions=tuple(s.member_id for s in stars),
            )
            _ids, admit = services.outbox.enqueue_in(conn, [draft])
    logger.bind(group=group_id, week=week.key).info("stars: {} named", len(stars))
    return Named(group_id, stars, admit)


def _nothing() -> None:
    """No announcement to queue (nobody reached `min_score`)."""


def _claim(conn: Connection, group_id: str, week: Week, count: int, now: datetime) -> bool:
    insert_ = upsert_insert(conn)
    claimed = conn.execute(
        insert_(WEEKS)
        .values(group_id=group_id, week=week.key, stars=count, created_at=now)
        .on_conflict_do_nothing(index_elements=[WEEKS.c.group_id, WEEKS.c.week])
    ).rowcount
    return claimed == 1


def _names(conn: Connection, member_ids: list[str]) -> dict[str, str]:
    """Latest display names, made fit for a group post (digit runs masked)."""
    if not member_ids:
        return {}
    rows = conn.execute(select(MEMBERS.c.id, MEMBERS.c.name).where(MEMBERS.c.id.in_(member_ids))).all()
    return {r[0]: safe_name(r[1] or "") for r in rows}


__all__ = ["ANNOUNCE_KIND", "POINTS_REASON", "Named", "Star", "award_group", "award_week", "points_ref"]
