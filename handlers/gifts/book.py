"""Deciding the first-N gifts inside an order batch's own transaction (`OrderStore.extend`).

`GiftBook.apply` runs after the batch's writes, in its transaction, so a gift commits or rolls
back with the orders that earned it. For each campaign with a `gifts:` section that the batch
touched, in campaign-id order:

1. the campaign's counter row is locked (inserted if missing, then SELECT … FOR UPDATE on
   PostgreSQL; SQLite has one writer at a time), so from here to the commit no other batch, in
   any process, decides about this campaign: places and gift numbers follow commit order;
2. cancellations: a member of the batch's `CancelOrders` left with no active counting order in
   the campaign (any group) loses their gift (`withdrawn`, points taken back, an unused gift
   coupon withdrawn); with `on_cancel: pass` its number is freed for the next member in line,
   with `keep` it is lost. A member waiting in line leaves it;
3. newcomers: a member of the batch's `PlaceOrder`s with a filled counting line and no place in
   line (or who left it) takes the next place (`pos`), in the batch's operation order, with their
   first active counting order;
4. freed numbers (lowest first), then new numbers while fewer than N are used, go to the
   members in line by place, each checked to still hold an active counting order, and are paid
   (points ledger, reason `gift`; the coupon through `issue_reward`) in the same transaction.

What it decided is returned for the messages (`CampaignGifts`); nothing here talks to anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection

from bot.storage.engine import upsert_insert
from handlers.coupons.rewards import issue_reward
from handlers.coupons.store import CouponSpec, CouponStore
from handlers.gifts.tables import COUNTERS, ENTRIES, GIVEN, LEFT, WAITING, WITHDRAWN
from handlers.points.ledger import PointsLedger
from handlers.selling.ops import CancelOrders, Operation, OpResult, PlaceOrder
from handlers.selling.tables import ACTIVE, ORDERS

POINTS_REASON = "gift"
COUPON_SOURCE = "gift"


@dataclass(frozen=True)
class GiftTerms:
    """A campaign's `gifts:` section as the step applies it; `coupon(now)` is the coupon to issue
    now (None: no coupon, or it can no longer be redeemed)."""

    campaign_id: str
    first: int
    gift: str
    on_cancel: str = "pass"
    products: frozenset[str] = frozenset()
    points: int = 0
    coupon: Callable[[datetime], CouponSpec | None] | None = None

    def counts(self, code: str) -> bool:
        return not self.products or code in self.products


TermsOf = Callable[[str], GiftTerms | None]


@dataclass(frozen=True)
class Gifted:
    member_id: str
    group_id: str
    member_name: str
    seq: int
    pos: int
    passed: bool
    coupon_code: str = ""
    points: int = 0


@dataclass(frozen=True)
class Withdrawn:
    member_id: str
    group_id: str
    seq: int
    passed_on: bool  # its number went back to the line (on_cancel: pass)


@dataclass
class CampaignGifts:
    """What one batch decided for one campaign."""

    terms: GiftTerms
    gifted: list[Gifted] = field(default_factory=list)
    withdrawn: list[Withdrawn] = field(default_factory=list)
    sold_out: bool = False  # the last number went in this batch: 「已送完」 is due (once)


def ref_of(campaign_id: str) -> str:
    """The points ledger's ref of a campaign's gift (one per member and campaign)."""
    return f"gift:{campaign_id}"


def back_ref_of(campaign_id: str) -> str:
    return f"gift:{campaign_id}:back"


class GiftBook:
    """The decision; one per app (the feature's step) or per test process."""

    def __init__(self, ledger: PointsLedger) -> None:
        self.ledger = ledger

    def apply(
        self,
        conn: Connection,
        ops: list[Operation],
        results: list[OpResult],
        now: datetime,
        terms_of: TermsOf,
    ) -> list[CampaignGifts]:
        placed: dict[str, dict[str, tuple[str, str]]] = {}  # campaign -> member -> (group, name)
        cancelled: dict[str, set[str]] = {}
        terms: dict[str, GiftTerms | None] = {}
        for op, result in zip(ops, results, strict=True):
            if isinstance(op, PlaceOrder) and result.status == "ok" and result.filled:
                found = _terms(terms, terms_of, op.campaign_id)
                if found and any(line.filled and found.counts(line.product_code) for line in result.lines):
                    placed.setdefault(op.campaign_id, {}).setdefault(
                        op.member_id, (op.group_id, op.member_name)
                    )
            elif isinstance(op, CancelOrders) and result.cancelled:
                found = _terms(terms, terms_of, op.campaign_id)
                if found and any(found.counts(code) for code in result.cancelled):
                    cancelled.setdefault(op.campaign_id, set()).add(op.member_id)
        decided = []
        for campaign_id in sorted(set(placed) | set(cancelled)):
            found = terms[campaign_id]
            assert found is not None
            outcome = self._campaign(
                conn, found, placed.get(campaign_id, {}), cancelled.get(campaign_id, set()), now
            )
            if outcome.gifted or outcome.withdrawn or outcome.sold_out:
                decided.append(outcome)
        return decided

    # -- one campaign ------------------------------------------------------------------------
    def _campaign(
        self,
        conn: Connection,
        terms: GiftTerms,
        placed: dict[str, tuple[str, str]],
        cancelled: set[str],
        now: datetime,
    ) -> CampaignGifts:
        cid = terms.campaign_id
        counter = _lock_counter(conn, cid)
        outcome = CampaignGifts(terms)
        members = set(placed) | cancelled
        active = _first_active(conn, terms, members)
        entries = {
            r.member_id: r
            for r in conn.execute(
                select(ENTRIES).where(ENTRIES.c.campaign_id == cid, ENTRIES.c.member_id.in_(sorted(members)))
            ).all()
        }
        freed: list[int] = []
        for member_id in sorted(cancelled - set(active)):
            entry = entries.get(member_id)
            if entry is None:
                continue
            if entry.status == GIVEN:
                passing = terms.on_cancel == "pass"
                self._withdraw(conn, terms, entry, passing, now)
                outcome.withdrawn.append(Withdrawn(member_id, entry.group_id, int(entry.seq), passing))
                if passing:
                    freed.append(int(entry.seq))
                    counter["free"] += 1
                else:
                    counter["lost"] += 1
            elif entry.status == WAITING:
                _set(conn, cid, member_id, status=LEFT)
        newcomers: list[dict[str, Any]] = []
        for member_id, (group_id, name) in placed.items():
            entry = entries.get(member_id)
            if member_id not in active or (entry is not None and entry.status != LEFT):
                continue
            counter["seen"] += 1
            values = {
                "group_id": group_id,
                "member_name": name,
                "pos": counter["seen"],
                "order_id": active[member_id],
                "status": WAITING,
                "created_at": now,
            }
            if entry is None:
                newcomers.append({"campaign_id": cid, "member_id": member_id, **values})
            else:
                _set(conn, cid, member_id, **values)
        if newcomers:  # one statement for a flash sale's batch of first orders
            conn.execute(ENTRIES.insert(), newcomers)
        slots = self._slots(conn, terms, counter, freed)
        if slots:
            self._fill(conn, terms, counter, slots, now, outcome)
        if counter["given"] >= terms.first and not counter["free"] and not counter["announced"]:
            counter["announced"] = outcome.sold_out = True
        conn.execute(
            update(COUNTERS)
            .where(COUNTERS.c.campaign_id == cid)
            .values(
                first=terms.first,
                **{k: counter[k] for k in ("seen", "given", "passed", "lost", "free", "announced")},
            )
        )
        return outcome

    def _slots(
        self, conn: Connection, terms: GiftTerms, counter: dict[str, Any], freed: list[int]
    ) -> list[int]:
        """Gift numbers to hand out now: freed ones (lowest first), then new ones up to N."""
        free = sorted(freed)
        if counter["free"] > len(free):  # freed by an earlier batch while nobody was in line
            held = select(ENTRIES.c.seq).where(
                ENTRIES.c.campaign_id == terms.campaign_id, ENTRIES.c.status == GIVEN
            )
            earlier = conn.execute(
                select(ENTRIES.c.seq)
                .distinct()
                .where(
                    ENTRIES.c.campaign_id == terms.campaign_id,
                    ENTRIES.c.status == WITHDRAWN,
                    ENTRIES.c.passed_on.is_(True),
                    ENTRIES.c.seq.not_in(held),
                )
            ).scalars()
            free = sorted(set(free) | {int(s) for s in earlier})
        fresh = list(range(counter["given"] + 1, terms.first + 1))
        return free + fresh

    def _fill(
        self,
        conn: Connection,
        terms: GiftTerms,
        counter: dict[str, Any],
        slots: list[int],
        now: datetime,
        outcome: CampaignGifts,
    ) -> None:
        """Give `slots` to the members in line, by place; those with no active order leave it."""
        cid = terms.campaign_id
        after = 0
        while slots:
            line = conn.execute(
                select(ENTRIES)
                .where(ENTRIES.c.campaign_id == cid, ENTRIES.c.status == WAITING, ENTRIES.c.pos > after)
                .order_by(ENTRIES.c.pos)
                .limit(len(slots))
            ).all()
            if not line:
                return
            after = int(line[-1].pos)
            active = _first_active(conn, terms, {r.member_id for r in line})
            for row in line:
                if row.member_id not in active:
                    _set(conn, cid, row.member_id, status=LEFT)
                    continue
                seq = slots.pop(0)
                fresh = seq > counter["given"]
                if fresh:
                    counter["given"] = seq
                else:
                    counter["free"] -= 1
                    counter["passed"] += 1
                code, points = self._pay(conn, terms, row.member_id, row.group_id, now)
                _set(
                    conn,
                    cid,
                    row.member_id,
                    status=GIVEN,
                    seq=seq,
                    passed=not fresh,
                    gifted_at=now,
                    coupon_code=code,
                    points=points,
                )
                outcome.gifted.append(
                    Gifted(
                        row.member_id,
                        row.group_id,
                        row.member_name,
                        seq,
                        int(row.pos),
                        not fresh,
                        code,
                        points,
                    )
                )
                if not slots:
                    return

    # -- paying and taking back ----------------------------------------------------------------
    def _pay(
        self, conn: Connection, terms: GiftTerms, member_id: str, group_id: str, now: datetime
    ) -> tuple[str, int]:
        """Credit the points and issue the coupon; (coupon code or "", points paid)."""
        paid = 0
        if terms.points and self.ledger.credit_in(
            conn,
            member_id,
            terms.points,
            POINTS_REASON,
            ref_of(terms.campaign_id),
            now=now,
            campaign_id=terms.campaign_id,
            group_id=group_id,
        ):
            paid = terms.points
        spec = terms.coupon(now) if terms.coupon is not None else None
        code = issue_reward(conn, spec, member_id, group_id, now) if spec is not None else ""
        return code, paid

    def _withdraw(self, conn: Connection, terms: GiftTerms, entry: Any, passing: bool, now: datetime) -> None:
        """The member cancelled every counting order: the gift is theirs no more, nor what it paid
        (points as far as the balance allows: never below zero; the coupon if still unused)."""
        cid = terms.campaign_id
        if entry.points:
            taken = self.ledger.debit_in(
                conn,
                entry.member_id,
                int(entry.points),
                POINTS_REASON,
                back_ref_of(cid),
                now=now,
                campaign_id=cid,
                group_id=entry.group_id,
            )
            if not taken:
                logger.bind(campaign=cid, member=entry.member_id).warning(
                    "gifts: the gift's points were spent already; not taken back"
                )
        if entry.coupon_code:
            CouponStore.consume(conn, entry.coupon_code, f"gift-withdrawn:{cid}", now)
        _set(conn, cid, entry.member_id, status=WITHDRAWN, withdrawn_at=now, passed_on=passing)


# -- statements --------------------------------------------------------------------------------
def _terms(memo: dict[str, GiftTerms | None], terms_of: TermsOf, campaign_id: str) -> GiftTerms | None:
    if campaign_id not in memo:
        memo[campaign_id] = terms_of(campaign_id)
    return memo[campaign_id]


def _lock_counter(conn: Connection, campaign_id: str) -> dict[str, Any]:
    """The campaign's counter row, locked until the commit (created the first time)."""
    insert = upsert_insert(conn)
    conn.execute(
        insert(COUNTERS)
        .values(campaign_id=campaign_id)
        .on_conflict_do_nothing(index_elements=[COUNTERS.c.campaign_id])
    )
    row = conn.execute(select(COUNTERS).where(COUNTERS.c.campaign_id == campaign_id).with_for_update()).one()
    return dict(row._mapping)


def _first_active(conn: Connection, terms: GiftTerms, members: Iterable[str]) -> dict[str, int]:
    """member -> their first active counting order's id, for those who hold one (any group)."""
    wanted = sorted(members)
    if not wanted:
        return {}
    query = select(ORDERS.c.member_id, func.min(ORDERS.c.id)).where(
        ORDERS.c.campaign_id == terms.campaign_id, ORDERS.c.member_id.in_(wanted), ORDERS.c.status == ACTIVE
    )
    if terms.products:
        query = query.where(ORDERS.c.product_code.in_(sorted(terms.products)))
    return {r[0]: int(r[1]) for r in conn.execute(query.group_by(ORDERS.c.member_id)).all()}


def _set(conn: Connection, campaign_id: str, member_id: str, **values: Any) -> None:
    conn.execute(
        update(ENTRIES)
        .where(and_(ENTRIES.c.campaign_id == campaign_id, ENTRIES.c.member_id == member_id))
        .values(**values)
    )


__all__ = [
    "COUPON_SOURCE",
    "POINTS_REASON",
    "CampaignGifts",
    "GiftBook",
    "GiftTerms",
    "Gifted",
    "TermsOf",
    "Withdrawn",
    "back_ref_of",
    "ref_of",
]
