"""The lottery tables' one writer: start, cancel and draw, each one transaction.

Each state change is a conditional UPDATE (or an INSERT under the one-open-per-group key) whose
row count says whether this caller won, written in the same transaction as the group posts it
causes (`Outbox.enqueue_in`): a crash either keeps both or neither, a retry or a second leader
finds the lottery already started, drawn or cancelled and changes nothing. The draw's first
statement is its UPDATE, so on SQLite it holds the write lock before it reads the pool: no
order can commit between the list being read and the draw being recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from bot.outbox import Draft
from handlers.lottery.fairness import commitment_of, new_seed, winning_numbers
from handlers.lottery.pool import Entrant, PoolRule, entrants
from handlers.lottery.tables import CANCELLED, DRAWN, DRAWS, ENTRIES, OPEN


@dataclass(frozen=True)
class Lottery:
    id: int
    campaign_id: str
    group_id: str
    started_by: str
    started_at: datetime
    winners: int
    pool: str
    prize_coupon_id: str
    prize_points: int
    seed: str
    commitment: str
    status: str
    entrants: int
    ended_at: datetime | None


@dataclass(frozen=True)
class Terms:
    """What `/lottery start` fixes: everything the commitment post promises."""

    campaign_id: str
    group_id: str
    started_by: str
    winners: int
    pool: str
    prize_coupon_id: str = ""
    prize_points: int = 0


@dataclass(frozen=True)
class Winner:
    number: int
    rank: int
    entrant: Entrant
    prize_ref: str


@dataclass(frozen=True)
class Drawn:
    """A draw just committed: the frozen list and the winners, best first."""

    lottery: Lottery
    entrants: list[Entrant]
    winners: list[Winner]


class NotEnough(Exception):
    """Fewer entrants than winners (or none): the draw is rolled back and the lottery stays open."""

    def __init__(self, entrants: int) -> None:
        super().__init__(f"{entrants} entrant(s)")
        self.entrants = entrants


Payer = Callable[[Connection, Lottery, Entrant], str]
DrawPosts = Callable[[Drawn], list[Draft]]
Enqueue = Callable[[Connection, list[Draft]], Callable[[], None]]


def _lottery(row: Row[Any]) -> Lottery:
    m = row._mapping
    return Lottery(**{name: m[name] for name in Lottery.__dataclass_fields__})


class LotteryStore:
    """Lottery storage; every public method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reading -------------------------------------------------------------------------
    def get(self, lottery_id: int) -> Lottery | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(DRAWS).where(DRAWS.c.id == lottery_id)).first()
        return _lottery(row) if row is not None else None

    def latest(self, group_id: str) -> Lottery | None:
        """The group's open lottery, else its most recent one."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(DRAWS).where(DRAWS.c.open_key == group_id)).first()
                or conn.execute(
                    select(DRAWS).where(DRAWS.c.group_id == group_id).order_by(DRAWS.c.id.desc()).limit(1)
                ).first()
            )
        return _lottery(row) if row is not None else None

    def pool_size(self, rule: PoolRule) -> int:
        with self.engine.connect() as conn:
            return len(entrants(conn, rule))

    def winners_of(self, lottery_id: int) -> list[tuple[int, str, str]]:
        """(number, member id, name) of a drawn lottery's winners, best first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ENTRIES.c.number, ENTRIES.c.member_id, ENTRIES.c.member_name)
                .where(ENTRIES.c.lottery_id == lottery_id, ENTRIES.c.rank.is_not(None))
                .order_by(ENTRIES.c.rank)
            ).all()
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def recent(self, since: datetime) -> list[Lottery]:
        """Lotteries open now or ended since `since` (their posts may still wait in the outbox)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(DRAWS).where((DRAWS.c.status == OPEN) | (DRAWS.c.ended_at >= since))
            ).all()
        return [_lottery(r) for r in rows]

    # -- writing -------------------------------------------------------------------------
    def start(
        self, terms: Terms, now: datetime, posts: Callable[[Lottery], list[Draft]], enqueue: Enqueue
    ) -> tuple[Lottery, Callable[[], None]] | None:
        """Draw a seed and record the lottery with its commitment post; None if the group has one open."""
        seed = new_seed()
        values = {
            "campaign_id": terms.campaign_id,
            "group_id": terms.group_id,
            "started_by": terms.started_by,
            "started_at": now,
            "winners": terms.winners,
            "pool": terms.pool,
            "prize_coupon_id": terms.prize_coupon_id,
            "prize_points": terms.prize_points,
            "seed": seed,
            "commitment": commitment_of(seed),
            "status": OPEN,
            "open_key": terms.group_id,
            "entrants": 0,
        }
        try:
            with self.engine.begin() as conn:
                inserted = conn.execute(insert(DRAWS).values(**values).returning(DRAWS.c.id)).scalar_one()
                row = conn.execute(select(DRAWS).where(DRAWS.c.id == inserted)).one()
                lottery = _lottery(row)
                admit = enqueue(conn, posts(lottery))
        except IntegrityError:
            return None  # one is open in this group already
        return lottery, admit

    def cancel(
        self, lottery_id: int, now: datetime, posts: Callable[[Lottery], list[Draft]], enqueue: Enqueue
    ) -> Callable[[], None] | None:
        """Cancel an open lottery with its post; None if it was no longer open (drawn or cancelled)."""
        with self.engine.begin() as conn:
            if not self._end(conn, lottery_id, CANCELLED, now):
                return None
            lottery = _lottery(conn.execute(select(DRAWS).where(DRAWS.c.id == lottery_id)).one())
            return enqueue(conn, posts(lottery))

    def draw(
        self,
        lottery_id: int,
        rule: PoolRule,
        now: datetime,
        pay: Payer,
        posts: DrawPosts,
        enqueue: Enqueue,
    ) -> tuple[Drawn, Callable[[], None]] | None:
        """Freeze the list, compute the winners, pay them and queue the posts, in one transaction.

        None if the lottery was not open any more (a repeated draw: nothing is paid twice).
        Raises `NotEnough` (nothing written) when the pool is empty or smaller than the winners.
        """
        with self.engine.begin() as conn:
            if not self._end(conn, lottery_id, DRAWN, now):
                return None
            lottery = _lottery(conn.execute(select(DRAWS).where(DRAWS.c.id == lottery_id)).one())
            pool = entrants(conn, rule)
            if not pool or len(pool) < lottery.winners:
                raise NotEnough(len(pool))
            numbers = winning_numbers(lottery.seed, len(pool), lottery.winners)
            conn.execute(
                insert(ENTRIES),
                [
                    {"lottery_id": lottery.id, "number": i, "member_id": e.member_id, "member_name": e.name}
                    for i, e in enumerate(pool, start=1)
                ],
            )
            chosen = [(rank, number, pool[number - 1]) for rank, number in enumerate(numbers, start=1)]
            paid: dict[int, str] = {}
            # Paid in member-id order: two transactions crediting the same members on PostgreSQL
            # then lock their balance rows in the same order (handlers/points/ledger.py).
            for rank, number, entrant in sorted(chosen, key=lambda c: c[2].member_id):
                paid[number] = pay(conn, lottery, entrant)
                conn.execute(
                    update(ENTRIES)
                    .where(ENTRIES.c.lottery_id == lottery.id, ENTRIES.c.number == number)
                    .values(rank=rank, prize_ref=paid[number])
                )
            winners = [Winner(number, rank, entrant, paid[number]) for rank, number, entrant in chosen]
            conn.execute(update(DRAWS).where(DRAWS.c.id == lottery.id).values(entrants=len(pool)))
            drawn = Drawn(lottery=lottery, entrants=pool, winners=winners)
            admit = enqueue(conn, posts(drawn))
        return drawn, admit

    @staticmethod
    def _end(conn: Connection, lottery_id: int, status: str, now: datetime) -> bool:
        ended = conn.execute(
            update(DRAWS)
            .where(DRAWS.c.id == lottery_id, DRAWS.c.status == OPEN)
            .values(status=status, open_key=None, ended_at=now)
        )
        return bool(ended.rowcount)


__all__ = ["Drawn", "Lottery", "LotteryStore", "NotEnough", "Terms", "Winner"]
