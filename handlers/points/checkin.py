"""签到: once per member per local day (`bot.timezone`), in whichever group, with a streak ladder.

The day's award is a ledger credit whose ref is the local date, so a member in three groups who
checks in in all three (or twice at once from two processes) is paid once: the ledger's unique
key decides, and the loser is told "already". The streak row is written in the same transaction.

The write runs in a worker thread, one check-in at a time (an asyncio lock, so they reach the
database in arrival order and never pile up threads); repeats on a day this process has already
answered cost no query and get no second reply (`CheckinMemory`).
"""

from __future__ import annotations

import asyncio
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cachetools import LRUCache
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.config import PointsSettings, StreakBonus
from bot.context import Services
from bot.storage.engine import upsert_insert
from handlers.points.ledger import PointsLedger, points_of
from handlers.points.tables import CHECKINS

REASON = "checkin"
MEMBERS_REMEMBERED = 50_000


def local_day(now: datetime, timezone: str) -> date:
    """The calendar day `now` falls on where the bot's members live."""
    return now.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def streak_bonus(streak: int, ladder: list[StreakBonus]) -> int:
    """The bonus for the `streak`-th day in a row: the ladder starts again after its last step
    (a 3/7 ladder pays on days 3, 7, 10, 14, …)."""
    if not ladder or streak < 1:
        return 0
    cycle = ladder[-1].day
    day = (streak - 1) % cycle + 1
    return sum(step.points for step in ladder if step.day == day)


def next_bonus(streak: int, ladder: list[StreakBonus]) -> tuple[int, int]:
    """(days from today, points) of the next bonus if the streak goes on; (0, 0) without a ladder."""
    if not ladder:
        return 0, 0
    cycle = ladder[-1].day
    into = (streak - 1) % cycle + 1
    step = next((s for s in ladder if s.day > into), None)
    days = step.day - into if step is not None else cycle - into + ladder[0].day
    return days, streak_bonus(streak + days, ladder)


def next_streak(last_day: date | None, streak: int, today: date) -> int:
    """Today's streak: one more when the last check-in was yesterday, else it starts again."""
    return streak + 1 if last_day == today - timedelta(days=1) else 1


@dataclass(frozen=True)
class Checkin:
    """What a 签到 did: `fresh` False means it had been done today (nothing was paid)."""

    fresh: bool
    points: int
    bonus: int
    streak: int
    balance: int
    next_bonus_in: int = 0  # days until the next streak bonus (0: the ladder is empty)
    next_bonus: int = 0  # the points that bonus adds


class CheckinStore:
    """The check-in transaction (sync: callers run it in a worker thread)."""

    def __init__(self, engine: Engine, ledger: PointsLedger, settings: PointsSettings, timezone: str) -> None:
        self.engine = engine
        self.ledger = ledger
        self.settings = settings
        self.timezone = timezone

    def check_in(self, member_id: str, group_id: str, now: datetime) -> Checkin:
        today = local_day(now, self.timezone)
        with self.engine.begin() as conn:
            row = conn.execute(select(CHECKINS).where(CHECKINS.c.member_id == member_id)).first()
            if row is not None and row.last_day >= today:
                return Checkin(False, 0, 0, row.streak, self.ledger.balance(member_id, conn))
            streak = next_streak(row.last_day if row else None, row.streak if row else 0, today)
            base, bonus = self.settings.checkin, streak_bonus(streak, self.settings.streak_bonus)
            if not self.ledger.credit_in(
                conn, member_id, base + bonus, REASON, today.isoformat(), now=now, group_id=group_id
            ):  # another group or process checked this member in a moment ago
                return Checkin(False, 0, 0, streak, self.ledger.balance(member_id, conn))
            best = max(streak, row.best if row else 0)
            insert = upsert_insert(conn)
            conn.execute(
                insert(CHECKINS)
                .values(member_id=member_id, last_day=today, streak=streak, best=best, updated_at=now)
                .on_conflict_do_update(
                    index_elements=[CHECKINS.c.member_id],
                    set_={"last_day": today, "streak": streak, "best": best, "updated_at": now},
                )
            )
            balance = self.ledger.balance(member_id, conn)
        days, points = next_bonus(streak, self.settings.streak_bonus)
        return Checkin(True, base, bonus, streak, balance, days, points)

    def streak(self, member_id: str, now: datetime) -> int:
        """The member's running streak: 0 once a day has been missed."""
        today = local_day(now, self.timezone)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(CHECKINS.c.last_day, CHECKINS.c.streak).where(CHECKINS.c.member_id == member_id)
            ).first()
        if row is None or row.last_day < today - timedelta(days=1):
            return 0
        return int(row.streak)


@dataclass
class CheckinMemory:
    """This process's check-ins: one lock (arrival order, one thread at a time) and who was
    answered today, so a member who says 签到 again is neither queried nor answered twice."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    answered: LRUCache[tuple[str, date], bool] = field(default_factory=lambda: LRUCache(MEMBERS_REMEMBERED))


def checkins_of(services: Services) -> CheckinStore:
    config = services.config
    return services.get_or_make(
        CheckinStore,
        lambda: CheckinStore(services.repo.engine, points_of(services), config.points, config.bot.timezone),
    )


async def check_in(services: Services, member_id: str, group_id: str) -> Checkin | None:
    """Check the member in off the loop; None when this process already answered them today."""
    memory = services.get_or_make(CheckinMemory, CheckinMemory)
    now = services.clock.now()
    key = (member_id, local_day(now, services.config.bot.timezone))
    if memory.answered.get(key):
        return None
    store = checkins_of(services)
    async with memory.lock:
        if memory.answered.get(key):  # answered while this one waited for the lock
            return None
        done = await asyncio.to_thread(store.check_in, member_id, group_id, now)
        memory.answered[key] = True
    return done
