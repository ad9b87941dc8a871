"""积分抵扣: members who opt in pay part of a campaign's bill with points, debited once at close.

Why opt-in: operators expect members to choose to spend points (points kept for a later, bigger
order are theirs), so a campaign's `points.redeem` rule applies only to members who said 积分抵扣
in one of its groups; 不用积分 withdraws until the close. The choice is one row per (member,
campaign) in `points_redemptions`.

Pricing asks the `RedeemPurse` (registered as selling's `PointsPurse`) for each member's offer:
their balance under the campaign's rule before close, exactly what the close took after it.

Settlement rides the close's ledger claim (`Feature.node_hooks`), after selling's hook has
redeemed coupons and credit in the same transaction. For each opted-in buyer of the closing
group it first claims the member's row (`settled` false -> true, one conditional UPDATE: two
closes of the member's groups, in threads or processes, claim it once), then debits the quote's
points through the ledger's conditional `debit_in` (ref: the campaign, so the ledger refuses a
second debit too). A balance spent meanwhile pays what it still can, or nothing: never below zero.
The row keeps what was taken, which is what every later quote shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from loguru import logger
from sqlalchemy import Row, Select, and_, bindparam, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from bot.campaign.growth_models import PointsRedeem
from bot.campaign.nodes import NodeRun
from bot.context import Services
from bot.storage.engine import upsert_insert
from handlers.points.ledger import PointsLedger, points_of
from handlers.points.tables import BALANCES, REDEMPTIONS
from handlers.selling.discounts import bound_to, wallet_on
from handlers.selling.node_hooks import campaign_orders
from handlers.selling.perks import MemberPerks
from handlers.selling.pricing import PointsOffer, PriceExtras, Quote, close_instant
from handlers.selling.settlement import member_quotes

REASON = "redeem"


def max_cents(rule: PointsRedeem) -> int:
    return int(Decimal(rule.max_yuan) * 100)


def offer_of(
    rule: PointsRedeem | None, balance: int, settled: bool, points: int, off: int
) -> PointsOffer | None:
    """The offer a redemption row makes: what the close took once settled, else the balance under
    `rule` (None without a rule: the campaign redeems no points)."""
    if settled:
        return PointsOffer(points, settled=True, off_cents=off)
    if rule is None:
        return None
    return PointsOffer(balance, rule.rate, max_cents(rule), rule.max_share)


def rule_of(services: Services, campaign_id: str) -> PointsRedeem | None:
    """The loaded campaign's redemption rule, while points are on (memory only)."""
    if not services.config.points.enabled:
        return None
    loaded = services.campaigns.campaigns.get(campaign_id)
    return loaded.campaign.points.redeem if loaded is not None else None


_WITH_BALANCE = select(REDEMPTIONS, BALANCES.c.balance).select_from(
    REDEMPTIONS.outerjoin(BALANCES, BALANCES.c.member_id == REDEMPTIONS.c.member_id)
)
# One member's row, read for every 我的订单: built once with bound parameters.
_MEMBER_ROW = _WITH_BALANCE.where(
    REDEMPTIONS.c.campaign_id == bindparam("campaign"), REDEMPTIONS.c.member_id == bindparam("member")
)


def _rows_query(campaign_id: str) -> Select[Any]:
    """Redemption rows of a campaign with each member's balance."""
    return _WITH_BALANCE.where(REDEMPTIONS.c.campaign_id == campaign_id)


def _offer(row: Row[Any] | None, rule: PointsRedeem | None) -> PointsOffer | None:
    if row is None or not (row.opted or row.settled):
        return None
    return offer_of(rule, int(row.balance or 0), row.settled, row.points, row.off_cents)


class RedeemPurse:
    """Selling's `PointsPurse`. Unbound (我的订单, 积分抵扣): one indexed read per member asked. Bound
    to a transaction (`on(conn)`, a close pricing every buyer): the campaign's rows in one read,
    kept for that purse, which lives as long as the pricing that asked for it."""

    def __init__(self, services: Services, conn: Connection | None = None) -> None:
        self.services, self.conn = services, conn
        self.loaded: dict[str, dict[str, Row[Any]]] = {}

    def on(self, conn: Connection) -> RedeemPurse:
        """This purse reading through `conn` (a close's transaction sees its own writes)."""
        return RedeemPurse(self.services, conn)

    def offer(self, member_id: str, campaign_id: str) -> PointsOffer | None:
        rule = rule_of(self.services, campaign_id)
        if self.conn is None:
            with self.services.repo.engine.connect() as conn:
                row = conn.execute(_MEMBER_ROW, {"campaign": campaign_id, "member": member_id}).first()
                return _offer(row, rule)
        rows = self.loaded.get(campaign_id)
        if rows is None:
            rows = {r.member_id: r for r in self.conn.execute(_rows_query(campaign_id)).all()}
            self.loaded[campaign_id] = rows
        return _offer(rows.get(member_id), rule)


class PreloadedPurse:
    """The purse for one campaign's report: every row of the campaign in one read (`tuanbot report`,
    the board). Without a rule, only settled redemptions count (what closes took)."""

    def __init__(self, engine: Engine, campaign_id: str, rule: PointsRedeem | None) -> None:
        self.campaign_id, self.rule = campaign_id, rule
        with engine.connect() as conn:
            self.rows = {r.member_id: r for r in conn.execute(_rows_query(campaign_id)).all()}

    def offer(self, member_id: str, campaign_id: str) -> PointsOffer | None:
        return _offer(self.rows.get(member_id) if campaign_id == self.campaign_id else None, self.rule)


# -- the member's choice ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """A redemption row as 积分抵扣 / 不用积分 answer with it."""

    opted: bool
    settled: bool
    points: int = 0
    off_cents: int = 0


def choose(engine: Engine, member_id: str, campaign_id: str, opted: bool | None, now: datetime) -> Choice:
    """Opt in or out until the close settles (None: only read); a settled row stays as it is."""
    with engine.begin() as conn:
        if opted is None:
            found = conn.execute(
                select(REDEMPTIONS).where(
                    REDEMPTIONS.c.member_id == member_id, REDEMPTIONS.c.campaign_id == campaign_id
                )
            ).first()
            if found is None:
                return Choice(False, False)
            return Choice(found.opted, found.settled, found.points, found.off_cents)
        insert = upsert_insert(conn)
        conn.execute(
            insert(REDEMPTIONS)
            .values(member_id=member_id, campaign_id=campaign_id, opted=opted, updated_at=now)
            .on_conflict_do_update(
                index_elements=[REDEMPTIONS.c.member_id, REDEMPTIONS.c.campaign_id],
                set_={"opted": opted, "updated_at": now},
                where=REDEMPTIONS.c.settled.is_(False),
            )
        )
        row = conn.execute(
            select(REDEMPTIONS).where(
                REDEMPTIONS.c.member_id == member_id, REDEMPTIONS.c.campaign_id == campaign_id
            )
        ).one()
    return Choice(row.opted, row.settled, row.points, row.off_cents)


# -- settlement at close ---------------------------------------------------------------------------
def _opted(conn: Connection, campaign_id: str, members: set[str]) -> list[str]:
    """Buyers among `members` opted in and not yet settled, in member-id order (lock order)."""
    if not members:
        return []
    query = select(REDEMPTIONS.c.member_id).where(
        REDEMPTIONS.c.campaign_id == campaign_id,
        REDEMPTIONS.c.opted.is_(True),
        REDEMPTIONS.c.settled.is_(False),
    )
    return sorted(m for (m,) in conn.execute(query).all() if m in members)


def settle_member(
    conn: Connection,
    ledger: PointsLedger,
    member_id: str,
    campaign_id: str,
    group_id: str,
    member_quote: Quote,
    rate: int,
    now: datetime,
) -> int | None:
    """Claim the member's row and debit the quote's points; the points taken (None: already
    settled by another close)."""
    claimed = conn.execute(
        update(REDEMPTIONS)
        .where(
            and_(
                REDEMPTIONS.c.member_id == member_id,
                REDEMPTIONS.c.campaign_id == campaign_id,
                REDEMPTIONS.c.opted.is_(True),
                REDEMPTIONS.c.settled.is_(False),
            )
        )
        .values(settled=True, updated_at=now)
    ).rowcount
    if claimed != 1:
        return None
    wanted, off = member_quote.points_used, member_quote.points_off_cents
    taken = 0

    def debit(points: int) -> bool:
        return ledger.debit_in(
            conn, member_id, points, REASON, campaign_id, now=now, campaign_id=campaign_id, group_id=group_id
        )

    if wanted > 0:
        if debit(wanted):
            taken = wanted
        else:  # spent meanwhile: what is left pays what it can, or nothing
            off = min(off, ledger.balance(member_id, conn) * 100 // rate)
            need = -(-off * rate // 100)  # whole points, rounded up (never more than is left)
            if off > 0 and debit(need):
                taken = need
            else:
                off = 0
    conn.execute(
        update(REDEMPTIONS)
        .where(REDEMPTIONS.c.member_id == member_id, REDEMPTIONS.c.campaign_id == campaign_id)
        .values(points=taken, off_cents=off if taken else 0, updated_at=now)
    )
    return taken


def hook_close(run: NodeRun, conn: Connection) -> None:
    """Debit the closing group's opted-in buyers in the close's own transaction."""
    settle_group_points(run, conn, close_instant(run.now, run.closes_at))


def hook_reopen_close(run: NodeRun, conn: Connection) -> None:
    """A 返场 ends (selling's `reopen-close`): its buyers who opted in before the close but were not
    settled then (they first bought in the 返场) are settled now, as at a close."""
    settle_group_points(run, conn, run.now)


def settle_group_points(run: NodeRun, conn: Connection, at: datetime) -> None:
    """Price the group's opted-in, unsettled buyers at `at` and debit them (one savepoint)."""
    services, campaign, group_id = run.services, run.campaign, run.group_id
    rule = campaign.points.redeem
    if not services.config.points.enabled or rule is None:
        return
    log = logger.bind(campaign=campaign.id, group=group_id)
    try:
        with conn.begin_nested():
            orders = campaign_orders(run, conn)
            opted = _opted(conn, campaign.id, {o.member_id for o in orders if o.group_id == group_id})
            if not opted:
                return
            perks = bound_to(services.find(MemberPerks), conn)  # type: ignore[type-abstract]
            extras = PriceExtras(perks, RedeemPurse(services, conn))
            mine = set(opted)
            quotes = member_quotes(
                wallet_on(services, conn),
                campaign.id,
                campaign.spend_tiers,
                [o for o in orders if o.member_id in mine],
                at,
                extras=extras,
            )
            ledger = points_of(services)
            taken = {
                m: settle_member(conn, ledger, m, campaign.id, group_id, quotes[m], rule.rate, run.now)
                for m in opted
            }
            paid = [t for t in taken.values() if t]
            log.info("points: {} buyers paid {} points at close", len(paid), sum(paid))
    except OperationalError:
        raise  # the database: the chunk is retried, as for any hook
    except Exception:
        log.opt(exception=True).error("points: redemption at close failed; the close goes on without it")


__all__ = [
    "REASON",
    "Choice",
    "PreloadedPurse",
    "RedeemPurse",
    "choose",
    "hook_close",
    "hook_reopen_close",
    "offer_of",
    "rule_of",
    "settle_group_points",
    "settle_member",
]
