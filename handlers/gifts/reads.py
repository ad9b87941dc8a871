"""Reading the gifts back: the list for `/gifts`, a member's own gift, and the counters.

Reads only: every write is the batch step's (`handlers.gifts.book`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from handlers.gifts.tables import COUNTERS, ENTRIES, GIVEN


@dataclass(frozen=True)
class GiftRow:
    seq: int
    member_id: str
    member_name: str
    group_id: str
    passed: bool


@dataclass(frozen=True)
class Counts:
    first: int = 0
    given: int = 0  # gift numbers used
    passed: int = 0
    lost: int = 0
    free: int = 0

    @property
    def held(self) -> int:
        """Gifts members hold now (numbers used, less those withdrawn and not yet passed on)."""
        return self.given - self.lost - self.free

    @property
    def left(self) -> int:
        """Gifts still to be given: unused numbers plus freed ones nobody took yet."""
        return max(0, self.first - self.given) + self.free


def gift_rows(engine: Engine, campaign_id: str, group_ids: Sequence[str] | None = None) -> list[GiftRow]:
    """The members holding a gift now, by gift number (in `group_ids` when given)."""
    query = select(
        ENTRIES.c.seq, ENTRIES.c.member_id, ENTRIES.c.member_name, ENTRIES.c.group_id, ENTRIES.c.passed
    ).where(ENTRIES.c.campaign_id == campaign_id, ENTRIES.c.status == GIVEN)
    if group_ids is not None:
        query = query.where(ENTRIES.c.group_id.in_(list(group_ids)))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(ENTRIES.c.seq)).all()
    return [GiftRow(int(r[0]), r[1], r[2], r[3], bool(r[4])) for r in rows]


def member_gift(engine: Engine, campaign_id: str, member_id: str) -> int | None:
    """The member's gift number in the campaign, or None when they hold none."""
    with engine.connect() as conn:
        found = conn.execute(
            select(ENTRIES.c.seq).where(
                ENTRIES.c.campaign_id == campaign_id,
                ENTRIES.c.member_id == member_id,
                ENTRIES.c.status == GIVEN,
            )
        ).scalar_one_or_none()
    return int(found) if found is not None else None


def counts(engine: Engine, campaign_id: str) -> Counts:
    with engine.connect() as conn:
        row = conn.execute(select(COUNTERS).where(COUNTERS.c.campaign_id == campaign_id)).first()
    if row is None:
        return Counts()
    return Counts(int(row.first), int(row.given), int(row.passed), int(row.lost), int(row.free))


def given_in(engine: Engine, campaign_id: str, group_ids: Sequence[str], *, passed: bool = False) -> int:
    """Gifts held now by members whose first counting order was in `group_ids` (only passed ones)."""
    query = (
        select(func.count())
        .select_from(ENTRIES)
        .where(
            ENTRIES.c.campaign_id == campaign_id,
            ENTRIES.c.status == GIVEN,
            ENTRIES.c.group_id.in_(list(group_ids)),
        )
    )
    if passed:
        query = query.where(ENTRIES.c.passed.is_(True))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


__all__ = ["Counts", "GiftRow", "counts", "gift_rows", "given_in", "member_gift"]
