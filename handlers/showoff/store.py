"""Counting a buyer's picture and paying the first N, in one transaction.

`submit` is the whole decision, made by the database so that two pictures at once from one
member, or pictures seen by two processes, still count once and reward exactly N:

1. the member must hold an active order of the campaign (in any of its groups);
2. their entry is inserted with ON CONFLICT DO NOTHING on (campaign, member): a second picture
   inserts nothing and ends here;
3. the campaign's counter is raised by `UPDATE … SET taken = taken + 1 WHERE taken < first`:
   its row count says whether a reward was left, and `taken` after it is the buyer's rank;
4. the reward is paid in the same transaction: points through the points ledger (reason
   `showoff`, whose (member, reason, ref) key makes it once), the coupon as the lottery issues
   a prize (the member's next free slot of that coupon, source `showoff`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from bot.storage.engine import upsert_insert
from handlers.coupons.rewards import issue_reward
from handlers.coupons.store import CouponSpec
from handlers.points.ledger import PointsLedger
from handlers.selling.tables import ACTIVE, ORDERS
from handlers.showoff.tables import COUNTERS, ENTRIES

POINTS_REASON = "showoff"
COUPON_SOURCE = "showoff"

REWARDED = "rewarded"  # among the first N: paid now
COUNTED = "counted"  # a buyer's first picture, after the N rewards were taken
REPEAT = "repeat"  # this buyer was already counted
NOT_BUYER = "not_buyer"  # no active order in the campaign


@dataclass(frozen=True)
class Reward:
    """What the first `first` buyers get: points and/or a coupon (its terms as issued now)."""

    first: int
    points: int = 0
    coupon: CouponSpec | None = None


@dataclass(frozen=True)
class Outcome:
    status: str
    rank: int | None = None
    coupon_code: str = ""
    points: int = 0


def ref_of(campaign_id: str) -> str:
    """The points ledger's ref (and the coupon's source_ref): one 晒单 reward per campaign."""
    return f"showoff:{campaign_id}"


class ShowoffStore:
    def __init__(self, engine: Engine, ledger: PointsLedger) -> None:
        self.engine = engine
        self.ledger = ledger

    def submit(
        self,
        campaign_id: str,
        group_id: str,
        member_id: str,
        member_name: str,
        reward: Reward,
        now: datetime,
    ) -> Outcome:
        """Count the member's picture once, and pay them if a reward is left (one transaction)."""
        with self.engine.begin() as conn:
            if not self._is_buyer(conn, campaign_id, member_id):
                return Outcome(NOT_BUYER)
            insert = upsert_insert(conn)
            fresh = conn.execute(
                insert(ENTRIES)
                .values(
                    campaign_id=campaign_id,
                    member_id=member_id,
                    group_id=group_id,
                    member_name=member_name,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=[ENTRIES.c.campaign_id, ENTRIES.c.member_id])
            ).rowcount
            if fresh != 1:
                return Outcome(REPEAT)
            rank = self._take(conn, campaign_id, reward.first)
            if rank is None:
                return Outcome(COUNTED)
            code = self._pay(conn, campaign_id, group_id, member_id, reward, now)
            conn.execute(
                update(ENTRIES)
                .where(ENTRIES.c.campaign_id == campaign_id, ENTRIES.c.member_id == member_id)
                .values(rank=rank, coupon_code=code, points=reward.points)
            )
            return Outcome(REWARDED, rank, code, reward.points)

    @staticmethod
    def _is_buyer(conn: Connection, campaign_id: str, member_id: str) -> bool:
        found = conn.execute(
            select(ORDERS.c.id)
            .where(
                ORDERS.c.campaign_id == campaign_id,
                ORDERS.c.member_id == member_id,
                ORDERS.c.status == ACTIVE,
            )
            .limit(1)
        ).first()
        return found is not None

    @staticmethod
    def _take(conn: Connection, campaign_id: str, first: int) -> int | None:
        """The next rank if one of the `first` rewards is left (the counter row's lock is held from
        here to the commit), else None."""
        insert = upsert_insert(conn)
        conn.execute(
            insert(COUNTERS)
            .values(campaign_id=campaign_id, taken=0)
            .on_conflict_do_nothing(index_elements=[COUNTERS.c.campaign_id])
        )
        raised = conn.execute(
            update(COUNTERS)
            .where(COUNTERS.c.campaign_id == campaign_id, COUNTERS.c.taken < first)
            .values(taken=COUNTERS.c.taken + 1)
        ).rowcount
        if raised != 1:
            return None
        return int(
            conn.execute(select(COUNTERS.c.taken).where(COUNTERS.c.campaign_id == campaign_id)).scalar_one()
        )

    def _pay(
        self, conn: Connection, campaign_id: str, group_id: str, member_id: str, reward: Reward, now: datetime
    ) -> str:
        """Credit the points and issue the coupon; the coupon's code ("" without one)."""
        if reward.points:
            self.ledger.credit_in(
                conn,
                member_id,
                reward.points,
                POINTS_REASON,
                ref_of(campaign_id),
                now=now,
                campaign_id=campaign_id,
                group_id=group_id,
            )
        if reward.coupon is None:
            return ""
        return issue_reward(conn, reward.coupon, member_id, group_id, now)

    # -- reads -----------------------------------------------------------------------------------
    def rewarded_names(self, campaign_id: str, group_id: str) -> list[str]:
        """Names of the rewarded members who posted in `group_id`, by rank."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ENTRIES.c.member_name)
                .where(
                    ENTRIES.c.campaign_id == campaign_id,
                    ENTRIES.c.group_id == group_id,
                    ENTRIES.c.rank.is_not(None),
                )
                .order_by(ENTRIES.c.rank)
            ).all()
        return [r[0] for r in rows]

    def taken(self, campaign_id: str) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(COUNTERS.c.taken).where(COUNTERS.c.campaign_id == campaign_id)
            ).scalar_one_or_none()
        return int(found or 0)

    def ranks(self, campaign_id: str) -> dict[str, int]:
        """Rank of each rewarded member of the campaign, by member id."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ENTRIES.c.member_id, ENTRIES.c.rank).where(
                    ENTRIES.c.campaign_id == campaign_id, ENTRIES.c.rank.is_not(None)
                )
            ).all()
        return {r[0]: int(r[1]) for r in rows}

    def counted(self, campaign_id: str) -> int:
        """Buyers counted (rewarded or not)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(func.count()).select_from(ENTRIES).where(ENTRIES.c.campaign_id == campaign_id)
            ).scalar_one()
        return int(found)


__all__ = [
    "COUNTED",
    "COUPON_SOURCE",
    "NOT_BUYER",
    "POINTS_REASON",
    "REPEAT",
    "REWARDED",
    "Outcome",
    "Reward",
    "ShowoffStore",
    "ref_of",
]
