"""积分抵扣 through chat and the close: opt in and out, debited once at close (however often the close
runs, whichever of the member's groups closes first), never below zero, and reported."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from handlers.monitoring.report import build_report
from handlers.points.figures import figures
from handlers.points.ledger import points_of
from handlers.points.redeem import REASON, RedeemPurse
from handlers.points.tables import REDEMPTIONS
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, Shop, build_shop, campaign_text
from tests.conftest import make_config
from tests.factories import private_message
from tests.fakes import FakeClock

RULE = "  per_yuan: 0\n  redeem: {rate: 100, max_yuan: 5, max_share: 0.5}\n"


def redeeming(tmp_path: Path, clock: FakeClock, db_url: str | None = None, rule: str = RULE) -> Shop:
    return build_shop(tmp_path, clock, db_url=db_url, text=campaign_text() + "points:\n" + rule)


def redeemed(shop: Shop, member: str) -> list[int]:
    return [e.points for e in points_of(shop.app.services).entries(member, 50) if e.reason == REASON]


def last_private(shop: Shop, member: str) -> str:
    return shop.transport.private_texts(member)[-1]


async def test_opt_in_and_out_answer_privately_with_balance_estimate_and_rule(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = redeeming(tmp_path, clock)
    points_of(shop.app.services).credit("alice", 800, "lottery", "seed", now=OPENS)
    await shop.open()
    await shop.say("积分抵扣", "alice", name="王姐")
    answer = last_private(shop, "alice")
    assert "【测试鲜果团】已开启积分抵扣" in answer and "当前积分：800" in answer
    assert "你还没有下单" in answer and "100 积分抵 ¥1" in answer and "最多抵 ¥5.00" in answer
    assert "50%" in answer
    await shop.say("A1 2", "alice")  # ¥20: half is ¥10, the cap ¥5
    await shop.say("积分抵扣！", "alice")
    assert len(shop.transport.private_texts("alice")) == 1  # the same words at once: answered once
    clock.advance(31)
    await shop.say("积分抵扣！", "alice")
    assert "用 500 积分抵 ¥5.00，预计实付 ¥15.00" in last_private(shop, "alice")
    await shop.say("不用积分", "alice")
    answer = last_private(shop, "alice")
    assert "不用积分抵扣" in answer and "积分抵" not in answer.split("当前积分")[1].split("规则")[0]
    assert RedeemPurse(shop.app.services).offer("alice", "t1") is None  # opted out: no points part
    assert not [m for m in shop.transport.sent if m.group_id and "积分" in m.text]  # nothing in the group


async def test_a_campaign_without_redeem_says_so_and_private_asks_point_to_the_group(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("积分抵扣", "alice")
    assert "这次不支持积分抵扣" in last_private(shop, "alice")
    await shop.say("积分抵扣", "alice")  # asked again at once: one answer is enough
    assert len(shop.transport.private_texts("alice")) == 1
    with shop.app.services.repo.engine.connect() as conn:
        assert conn.execute(select(REDEMPTIONS)).all() == []
    await shop.transport.inject(private_message("积分抵扣", "bob", at=clock.now()))
    assert "请在团购群里发「积分抵扣」" in last_private(shop, "bob")


async def test_points_off_only_when_switched_on(tmp_path: Path, clock: FakeClock) -> None:
    cfg = make_config(tmp_path, points={"enabled": False})
    shop = build_shop(tmp_path, clock, config=cfg, text=campaign_text() + "points:\n" + RULE)
    await shop.open()
    await shop.say("积分抵扣", "alice")
    assert shop.transport.private_texts("alice") == []


async def test_the_close_debits_opted_in_buyers_once_and_every_view_shows_it(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = redeeming(tmp_path, clock, db_url)
    services = shop.app.services
    ledger = points_of(services)
    for member in ("alice", "bob", "carol"):
        ledger.credit(member, 800, "lottery", "seed", now=OPENS)
    ledger.credit("dave", 120, "lottery", "seed", now=OPENS)
    await shop.open()
    await shop.say("A1 2", "alice")  # ¥20 in 团购一群
    await shop.say("A2 1", "alice", group=G2)  # and ¥20.50 in 团购二群: the cap is ¥5 campaign-wide
    await shop.say("积分抵扣", "alice")
    await shop.say("A1 1", "bob")  # bob never opts in
    await shop.say("积分抵扣", "carol")
    await shop.say("不用积分", "carol")
    await shop.say("A1 1", "carol")
    await shop.say("积分抵扣", "dave")
    await shop.say("A1 3", "dave")  # ¥30 - 满减 ¥5 = ¥25: ¥5 cap, but 120 points are ¥1.20
    ledger.debit("dave", 100, "lottery-fee", "spent", now=OPENS)  # dave spends most before close

    clock.set(CLOSES - timedelta(minutes=30))
    await shop.say("/close", "lily")  # 团购一群 closes early
    await shop.registry.run_node("t1", "close")  # then every group at C (团购一群's is a retry)
    await shop.registry.run_node("t1", "close")  # a retried job: nothing more
    await shop.drain()

    assert redeemed(shop, "alice") == [-500] and ledger.balance("alice") == 300
    assert redeemed(shop, "bob") == [] and redeemed(shop, "carol") == []
    assert redeemed(shop, "dave") == [-20] and ledger.balance("dave") == 0  # what was left, not below
    offer = RedeemPurse(services).offer("alice", "t1")
    assert offer is not None and offer.settled and (offer.points, offer.off_cents) == (500, 500)

    engine = services.repo.engine
    report = build_report(engine, "t1", [G1, G2], {}, OPENS - timedelta(hours=1), CLOSES)
    rows = {row.group: row for row in report.rows}
    # alice's ¥5 splits over her spend in each group (¥20 : ¥20.50); dave's ¥0.20 is all 团购一群's
    assert round(rows[G1].points_off_yuan + rows[G2].points_off_yuan, 2) == 5.20
    assert rows[G1].points_off_yuan == round(2.47 + 0.20, 2)
    assert report.totals().points_off_yuan == 5.20
    assert "points_off_yuan" in report.to_csv().splitlines()[0].split(",")[-1]
    assert '"points_off_yuan": 2.67' in report.to_json()
    assert figures(engine, "t1", None) == {
        "points_earned": 0,
        "points_redeemed": 520,
        "redeem_members": 2,
        "redeem_off_cents": 520,
    }
    assert figures(engine, "t1", [G2])["points_redeemed"] == 0  # debited when 团购一群 closed

    await shop.say("积分抵扣", "alice")  # after the close: what was settled
    assert "积分抵扣已结算：用了 500 积分，抵扣 ¥5.00" in last_private(shop, "alice")


async def test_a_buyer_who_first_buys_in_the_reopen_is_settled_when_it_ends(
    tmp_path: Path, clock: FakeClock
) -> None:
    reopen = "reopen:\n  at: C+1h\n  window: 2h\n"
    shop = build_shop(tmp_path, clock, text=campaign_text() + reopen + "points:\n" + RULE)
    ledger = points_of(shop.app.services)
    ledger.credit("erin", 800, "lottery", "seed", now=OPENS)
    await shop.open()
    await shop.say("积分抵扣", "erin")  # opts in during the sale, buys nothing yet
    await shop.say("A1 1", "alice")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    assert redeemed(shop, "erin") == []  # not a buyer at the close: nothing settled
    clock.set(CLOSES + timedelta(hours=1))
    await shop.registry.run_node("t1", "reopen")
    await shop.say("不用积分", "erin")  # the close has passed: the choice no longer changes
    assert "已结团，不能再修改积分抵扣" in last_private(shop, "erin")
    await shop.say("A1 2", "erin")  # ¥20 in the 返场: half is ¥10, the cap ¥5
    clock.set(CLOSES + timedelta(hours=3))
    await shop.registry.run_node("t1", "reopen-close")
    await shop.registry.run_node("t1", "reopen-close")  # a retried job: nothing more
    assert redeemed(shop, "erin") == [-500] and ledger.balance("erin") == 300
