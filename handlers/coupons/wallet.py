"""The coupon wallet pricing asks (`handlers.selling.discounts.CouponWallet`), over the coupon store.

`usable` lists a member's unused coupons valid at a time for a campaign;
`redeem` and `redeem_credit` consume what a buyer's final quote applied at the
close (`handlers.coupons.store` says how claims and redemptions stay exact).
The store's names are re-exported here for the modules that import them from
the wallet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from handlers.coupons.store import ClaimResult, CouponSpec, CouponStore, IssuedCoupon
from handlers.coupons.tables import CouponRow
from handlers.selling.discounts import CouponOffer

if TYPE_CHECKING:
    from bot.context import Services


# -- the wallet -------------------------------------------------------------------------
def offer_of(coupon: IssuedCoupon, title: str) -> CouponOffer:
    return CouponOffer(
        coupon_code=coupon.code,
        coupon_id=coupon.coupon_id,
        title=title,
        amount_cents=coupon.amount_cents,
        min_spend_cents=coupon.min_spend_cents,
        valid_until=coupon.valid_until,
        product_codes=coupon.products,
        source=coupon.source,
    )


class StoredWallet:
    """The wallet over the coupon tables alone (no titles): what `tuanbot report` prices with."""

    def __init__(self, engine: Engine) -> None:
        self.store = CouponStore(engine)

    def title(self, coupon: IssuedCoupon) -> str:
        return ""

    def usable(self, member_id: str, campaign_id: str, now: datetime) -> list[CouponOffer]:
        with self.store.engine.connect() as conn:
            coupons = CouponStore.usable_rows(conn, member_id, campaign_id, now)
        return [offer_of(c, self.title(c)) for c in coupons]

    def redeemed(self, member_id: str, campaign_id: str) -> list[CouponOffer]:
        """What the campaign's close consumed for this member, so quotes after close show it."""
        return [offer_of(c, self.title(c)) for c in self.store.consumed_by(member_id, campaign_id)]


MEMBERS_PER_QUERY = 900  # under SQLite's bound-parameter limit


def coupons_of_members(
    conn: Connection, member_ids: list[str], campaign_id: str
) -> list[tuple[str, str, IssuedCoupon]]:
    """Every coupon of these members that could price or did settle `campaign_id` (its own, the
    campaign-free credits, what its close consumed) as (member, consumed_ref, coupon), oldest
    first: one query per 900 members instead of two per member (`PreloadedWallet`)."""
    found: list[tuple[str, str, IssuedCoupon]] = []
    for start in range(0, len(member_ids), MEMBERS_PER_QUERY):
        rows = conn.execute(
            select(CouponRow)
            .where(
                col(CouponRow.member_id).in_(member_ids[start : start + MEMBERS_PER_QUERY]),
                or_(
                    col(CouponRow.campaign_id).in_([campaign_id, ""]),
                    col(CouponRow.consumed_ref) == f"campaign:{campaign_id}",
                ),
            )
            .order_by(col(CouponRow.id))
        ).all()
        for r in rows:
            row = CouponRow.model_validate(r._mapping)
            found.append((row.member_id, row.consumed_ref, IssuedCoupon.of(row)))
    return found


class PreloadedWallet:
    """`StoredWallet`'s answers for one campaign's buyers, read in one query per 900 of them.

    The report and the board price every buyer of a campaign at once; asking the tables two
    questions per buyer cost the board 0.7 s a refresh at 1,500 buyers. The answers are the
    same as `StoredWallet`'s for the members and campaign it was loaded for (the usable
    filter is `CouponStore.usable_rows`'s, applied in memory); any other member has none.
    """

    def __init__(self, engine: Engine, campaign_id: str, member_ids: Iterable[str]) -> None:
        self.campaign_id = campaign_id
        self._held: dict[str, list[IssuedCoupon]] = defaultdict(list)
        self._consumed: dict[str, list[IssuedCoupon]] = defaultdict(list)
        with engine.connect() as conn:
            rows = coupons_of_members(conn, sorted(set(member_ids)), campaign_id)
        for member_id, consumed_ref, coupon in rows:
            if consumed_ref == f"campaign:{campaign_id}":
                self._consumed[member_id].append(coupon)
            if coupon.campaign_id in (campaign_id, ""):
                self._held[member_id].append(coupon)

    def usable(self, member_id: str, campaign_id: str, now: datetime) -> list[CouponOffer]:
        if campaign_id != self.campaign_id:
            raise ValueError(f"this wallet was loaded for {self.campaign_id}, not {campaign_id}")
        held = self._held.get(member_id, ())
        return [
            offer_of(c, "")
            for c in held
            if c.status == "issued"
            and c.valid_from <= now
            and (c.valid_until is None or now <= c.valid_until)
        ]

    def redeemed(self, member_id: str, campaign_id: str) -> list[CouponOffer]:
        if campaign_id != self.campaign_id:
            raise ValueError(f"this wallet was loaded for {self.campaign_id}, not {campaign_id}")
        return [offer_of(c, "") for c in self._consumed.get(member_id, ())]


class EngagementWallet(StoredWallet):
    """The `CouponWallet` (and `CouponRedeemer`, `CreditRedeemer`) pricing uses.

    `usable` lists a member's unused coupons valid at `now` for a campaign;
    red-packet credit won outside any campaign (campaign id "") counts for every
    campaign. `redeem` is called at closing for the coupon each buyer's quote
    chose, and consumes at most one coupon per member and campaign, ever: the
    redemption row's primary key makes a retried or concurrent close harmless.
    `redeem_credit` consumes each red-packet credit the quote applied (a credit is
    consumed once, by its status). `redeemed` is what a close consumed.
    """

    def __init__(self, services: Services) -> None:
        super().__init__(services.repo.engine)
        self.services = services

    def title(self, coupon: IssuedCoupon) -> str:
        return self.services.renderer.render("coupons/title.j2", coupon=coupon)

    def redeem(self, member_id: str, campaign_id: str, coupon_id: str, now: datetime) -> bool:
        """Consume one of the member's `coupon_id` coupons; False if already redeemed or none held."""
        return self.store.redeem(member_id, campaign_id, coupon_id, now)

    def redeem_credit(self, member_id: str, campaign_id: str, coupon_code: str, now: datetime) -> bool:
        """Consume one red-packet credit by code; False if it already was or is not the member's."""
        return self.store.redeem_credit(member_id, campaign_id, coupon_code, now)

    def on(self, conn: Connection) -> ConnectionWallet:
        """This wallet reading and redeeming through `conn`: a close settles in its claim's transaction."""
        return ConnectionWallet(self, conn)


class ConnectionWallet:
    """A wallet bound to one open transaction (a close's ledger claim).

    Its reads see that transaction's own writes and its redemptions commit or roll back
    with the claim, so a duplicate close (which loses the claim) redeems nothing, and the
    settlement cannot wait on the claim's write lock from a second connection.
    """

    def __init__(self, wallet: EngagementWallet, conn: Connection) -> None:
        self.wallet, self.conn = wallet, conn

    def usable(self, member_id: str, campaign_id: str, now: datetime) -> list[CouponOffer]:
        coupons = CouponStore.usable_rows(self.conn, member_id, campaign_id, now)
        return [offer_of(c, self.wallet.title(c)) for c in coupons]

    def redeemed(self, member_id: str, campaign_id: str) -> list[CouponOffer]:
        coupons = CouponStore.consumed_by_in(self.conn, member_id, campaign_id)
        return [offer_of(c, self.wallet.title(c)) for c in coupons]

    def redeem(self, member_id: str, campaign_id: str, coupon_id: str, now: datetime) -> bool:
        return CouponStore.redeem_in(self.conn, member_id, campaign_id, coupon_id, now)

    def redeem_credit(self, member_id: str, campaign_id: str, coupon_code: str, now: datetime) -> bool:
        return CouponStore.redeem_credit_in(self.conn, member_id, campaign_id, coupon_code, now)


def make_wallet(services: Services) -> EngagementWallet:
    """The wallet to register as `services.features["coupon_wallet"]`."""
    return EngagementWallet(services)


__all__ = [
    "ClaimResult",
    "ConnectionWallet",
    "CouponSpec",
    "CouponStore",
    "EngagementWallet",
    "IssuedCoupon",
    "PreloadedWallet",
    "StoredWallet",
    "make_wallet",
    "offer_of",
]
