"""Invites credited at close: the qualifying ones paid on both sides, ladders once, the rest held
or lapsed, the admins told privately, the final board posted; a second close pays nothing."""

from __future__ import annotations

from pathlib import Path

from handlers.points.ledger import points_of
from tests.commerce.selling_kit import G1, G2, OPENS
from tests.fakes import FakeClock
from tests.referral.kit import close, invites, join, leave, payouts, shop_of


async def test_qualifying_invites_are_paid_once_and_flagged_ones_held(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_of(tmp_path, clock)
    await join(shop, "nina", "omar", "pia", by="alice")
    clock.advance(60)
    await join(shop, "quin", by="bob")
    await shop.open()
    for member in ("nina", "omar", "pia", "quin"):
        await shop.say("A1 1", member)
    clock.advance(60)
    await leave(shop, "quin")  # ordered, then left within 24 h
    await close(shop)

    found = invites(shop)
    assert {m: s for m, (_, s, _) in found.items()} == {
        "nina": "credited",
        "omar": "credited",
        "pia": "credited",
        "quin": "held",
    }
    assert found["quin"][2] == "left_early"
    paid = payouts(shop)
    assert ("alice", "ladder:3") in paid and not [p for p in paid if p[0] in ("bob", "quin")]
    ledger = points_of(shop.app.services)
    assert ledger.awarded("referral", "t1") == {"alice": 150, "nina": 20, "omar": 20, "pia": 20}
    [notice] = shop.transport.private_texts("admin")
    assert "#4" in notice and "24 小时内退群" in notice and "quin" not in notice
    board = [t for t in shop.texts(G1) if "邀请排行" in t]
    assert board and "结团已结算" in board[-1] and "a**  邀请 3 人" in board[-1] and "b*" not in board[-1]
    told = shop.transport.private_texts("alice")
    assert any("阶梯奖" in t for t in told)

    before = payouts(shop)
    await shop.registry.run_node("t1", "close")  # a second close loses the claim
    assert payouts(shop) == before


async def test_a_cancelled_order_or_an_order_elsewhere_does_not_count(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_of(tmp_path, clock)
    await join(shop, "nina", "omar", "pia", by="alice")
    await shop.open()
    await shop.say("A1 2", "nina")
    await shop.say("取消 A1", "nina")  # cancelled before close
    await shop.say("A1 1", "omar", group=G2)  # bought, but in the other group
    await shop.say("A2 1", "pia")
    await close(shop)
    assert {m: s for m, (_, s, _) in invites(shop).items()} == {
        "nina": "lapsed",
        "omar": "lapsed",
        "pia": "credited",
    }
    assert points_of(shop.app.services).awarded("referral", "t1") == {"alice": 50, "pia": 20}
    assert shop.transport.private_texts("admin") == []  # nothing flagged: nothing to tell


async def test_a_waiting_progress_post_is_dropped_at_close_and_later_joins_are_no_invites(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_of(tmp_path, clock)
    await join(shop, "nina", by="alice", drain=False)  # its progress post waits board.every (30 min)
    clock.set(OPENS)
    await shop.registry.run_node("t1", "open")
    await shop.say("/close", "lily", drain=False)  # the leader closes early; nina never ordered
    assert shop.app.services.outbox.holds(G1, "referral:t1") is False
    await shop.drain()
    assert not [t for t in shop.texts(G1) if "邀请排行" in t]  # neither progress nor a final board
    assert invites(shop)["nina"][1] == "lapsed"
    await join(shop, "omar", by="alice")  # after the group's close, before closes_at
    assert "omar" not in invites(shop)


async def test_seen_elsewhere_and_lookalike_invitees_are_held_at_close(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_of(tmp_path, clock)
    await shop.say("大家好", "wanda", group=G2)  # the bot knows wanda from group two
    clock.advance(60)
    await join(shop, "wanda", by="alice")
    await join(shop, "shop01", "shop02", by="bob")
    await join(shop, "xena", by="bob")
    await shop.open()
    for member in ("wanda", "shop01", "shop02", "xena"):
        await shop.say("A1 1", member)
    await close(shop)
    found = invites(shop)
    assert found["wanda"][1:] == ("held", "seen_elsewhere")
    assert found["shop01"][1:] == found["shop02"][1:] == ("held", "lookalike")
    assert found["xena"][1] == "credited"
    [notice] = shop.transport.private_texts("admin")
    assert "其他群出现" in notice and "雷同" in notice
