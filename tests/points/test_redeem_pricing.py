"""积分抵扣 and 会员折扣 in a quote: the order of the discounts, the caps, what a settled close shows,
and that every money view (results post, report row, board figures, 我的订单) shows both lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.campaign.growth_models import PointsRedeem
from bot.campaign.models import SpendTier
from handlers.points.redeem import offer_of
from handlers.selling.discounts import CouponOffer
from handlers.selling.perks import Perks
from handlers.selling.pricing import PointsOffer, PricedLine, PriceExtras, points_part, quote, quote_member
from handlers.selling.settlement import Money, campaign_money, settle_group
from handlers.selling.store import OrderView

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
RULE = PointsRedeem(rate=100, max_yuan=Decimal("20"), max_share=0.5)
TIERS = (SpendTier(min_spend=Decimal("100"), off=Decimal("10")),)


def offer(points: int, rule: PointsRedeem = RULE) -> PointsOffer | None:
    return offer_of(rule, points, False, 0, 0)


@pytest.mark.parametrize(
    ("balance", "due", "expected"),
    [
        (5_000, 10_000, (2_000, 2_000)),  # ¥20 cap: 2,000 points for ¥20 of ¥100
        (5_000, 3_000, (1_500, 1_500)),  # half of ¥30 due
        (700, 10_000, (700, 700)),  # the balance: 700 points are ¥7
        (0, 10_000, (0, 0)),
        (5_000, 0, (0, 0)),  # nothing due, nothing taken
        (5_000, 1, (0, 0)),  # half a fen rounds down to nothing
    ],
)
def test_points_are_capped_by_yuan_share_and_balance(
    balance: int, due: int, expected: tuple[int, int]
) -> None:
    assert points_part(offer(balance), due) == expected


def test_a_rate_that_does_not_divide_a_yuan_uses_whole_points_rounded_up() -> None:
    rule = PointsRedeem(rate=30, max_yuan=Decimal("0.11"), max_share=1)
    used, off = points_part(offer(1_000, rule), 5_000)
    assert off == 11 and used == 4  # 11 fen at 30 points/¥ is 3.3 points: 4 are taken
    assert points_part(offer(3, rule), 5_000) == (3, 10)  # 3 points are worth 10 fen (rounded down)


def test_discounts_apply_in_order_tier_member_coupon_points_credit() -> None:
    lines = [PricedLine("A1", 12, 1_000)]  # ¥120
    coupon = CouponOffer("C1", "c1", "满50减10", 1_000, 5_000, None)
    credit = CouponOffer("R1", "r1", "红包", 9_000, 0, None, source="redpacket")
    q = quote(lines, TIERS, [coupon, credit], member_percent=10, member_tier="VIP", points=offer(100_000))
    assert q.tier_off_cents == 1_000  # ¥120 reaches 满100减10
    assert q.member_off_cents == 1_100 and q.member_tier == "VIP"  # 10% of ¥110
    assert q.coupon_off_cents == 1_000  # ¥99 still owed
    assert (q.points_used, q.points_off_cents) == (2_000, 2_000)  # ¥20 cap (half of ¥89 is more)
    assert q.credit_off_cents == 6_900  # credit pays the rest
    assert q.total_cents == 0
    assert q.discount_cents == 1_000 + 1_100 + 1_000 + 2_000 + 6_900


def test_the_share_counts_what_is_due_after_the_coupon() -> None:
    lines = [PricedLine("A1", 3, 1_000)]  # ¥30, no tier
    coupon = CouponOffer("C1", "c1", "减10", 1_000, 0, None)
    q = quote(lines, TIERS, [coupon], points=offer(100_000))
    assert q.points_off_cents == 1_000 and q.total_cents == 1_000  # half of the ¥20 left


def test_a_settled_offer_is_what_the_close_took_not_the_balance_now() -> None:
    lines = [PricedLine("A1", 10, 1_000)]
    settled = offer_of(RULE, 99_999, True, 300, 300)
    q = quote(lines, (), points=settled)
    assert (q.points_used, q.points_off_cents, q.settled) == (300, 300, True)
    assert offer_of(None, 500, False, 0, 0) is None  # no rule, not settled: no points


class FakePerks:
    """What the tiers feature registers as `MemberPerks`: VIPs get 5% off."""

    def perks(self, member_id: str, campaign_id: str) -> Perks:
        return Perks(discount_percent=5, tier="VIP") if member_id == "vip" else Perks()


class FakePurse:
    def __init__(self, offers: dict[str, PointsOffer | None]) -> None:
        self.offers = offers

    def offer(self, member_id: str, campaign_id: str) -> PointsOffer | None:
        return self.offers.get(member_id)


def test_quote_member_applies_the_registered_perks_and_purse() -> None:
    lines = [PricedLine("A1", 10, 1_000)]  # ¥100 - 满减 ¥10 = ¥90
    extras = PriceExtras(FakePerks(), FakePurse({"vip": offer(500)}))
    vip = quote_member(None, "vip", "t1", lines, TIERS, NOW, extras=extras)
    assert vip.member_off_cents == 450 and vip.points_off_cents == 500
    assert vip.total_cents == 10_000 - 1_000 - 450 - 500
    plain = quote_member(None, "bob", "t1", lines, TIERS, NOW, extras=extras)
    assert plain.member_off_cents == 0 and plain.points_off_cents == 0 and plain.total_cents == 9_000
    assert quote_member(None, "vip", "t1", lines, TIERS, NOW).total_cents == 9_000  # no extras: as before


def order(member: str, group: str, qty: int, oid: int) -> OrderView:
    return OrderView(oid, group, member, member, "A1", qty, 1_000, NOW)


def test_campaign_money_splits_member_and_points_parts_over_groups() -> None:
    orders = [order("vip", "g1", 6, 1), order("vip", "g2", 4, 2)]
    extras = PriceExtras(FakePerks(), FakePurse({"vip": offer(1_000)}))
    q = quote_member(None, "vip", "t1", [PricedLine("A1", 10, 1_000)], (), NOW, extras=extras)
    money = campaign_money(orders, {"vip": q})
    assert money.of("g1").member_off_cents == 300 and money.of("g2").member_off_cents == 200
    assert money.of("g1").points_off_cents == 600 and money.of("g2").points_off_cents == 400
    assert (
        money.total.net_cents == 10_000 - 500 - 1_000 == money.total.gross_cents - money.total.discount_cents
    )


def test_money_lines_show_member_discount_and_points(make_app: Any) -> None:
    app, _ = make_app()
    templates = app.services.renderer
    with_both = Money(10_000, 1_000, 0, 0, 450, 500)
    text = templates.render("sales/_money.j2", m=with_both)
    assert "会员折扣 -¥4.50" in text and "积分抵扣 -¥5.00" in text and "实付 ¥80.50" in text
    plain = templates.render("sales/_money.j2", m=Money(10_000, 1_000, 0, 0))
    assert "积分" not in plain and "会员" not in plain  # nothing new when there is nothing to say
    lines = [PricedLine("A1", 10, 1_000)]
    q = quote(lines, TIERS, member_percent=5, member_tier="VIP", points=offer(500))
    mine = templates.render(
        "orders/my_orders.j2", name="王姐", title="鲜果团", lines=[("A1", "草莓", 10)], quote=q, pickup=""
    )
    assert (
        "会员折扣（VIP） -¥4.50" in mine and "积分抵扣（500积分）-¥5.00" in mine and "预计实付 ¥80.50" in mine
    )


class FakeWallet:
    """Two ¥10 red-packet credits; records what the close consumes."""

    def __init__(self) -> None:
        self.consumed: list[str] = []

    def usable(self, member_id: str, campaign_id: str, now: datetime) -> list[CouponOffer]:
        return [CouponOffer(code, code, "红包", 1_000, 0, None, source="redpacket") for code in ("R1", "R2")]

    def redeem_credit(self, member_id: str, campaign_id: str, coupon_code: str, now: datetime) -> bool:
        self.consumed.append(coupon_code)
        return True


def test_settle_group_with_extras_consumes_only_the_credit_left_to_pay() -> None:
    orders = [order("vip", "g1", 2, 1)]  # ¥20: VIP 5% = ¥1, points (half) ¥9.50, ¥9.50 left
    extras = PriceExtras(FakePerks(), FakePurse({"vip": offer(5_000)}))
    with_extras, without = FakeWallet(), FakeWallet()
    assert settle_group(with_extras, "t1", (), orders, "g1", NOW, extras=extras) == 1
    assert with_extras.consumed == ["R1"]  # ¥9.50 left: one credit pays it
    assert settle_group(without, "t1", (), orders, "g1", NOW) == 2  # without extras: both, as before
