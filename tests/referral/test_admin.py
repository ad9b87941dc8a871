"""`/referral held | pay | reject`: admins only (by id, never by name), answered privately; a held
invite is paid once on release, a rejected one never."""

from __future__ import annotations

from pathlib import Path

from handlers.points.ledger import points_of
from tests.commerce.selling_kit import G1, Shop
from tests.fakes import FakeClock
from tests.referral.kit import close, invites, join, leave, payouts, private, shop_of


async def held_shop(tmp_path: Path, clock: FakeClock) -> Shop:
    """nina (alice's) and quin (bob's) ordered and left at once: both held at close."""
    shop = shop_of(tmp_path, clock)
    await join(shop, "nina", by="alice")
    await join(shop, "quin", by="bob")
    await shop.open()
    await shop.say("A1 1", "nina")
    await shop.say("A1 1", "quin")
    await leave(shop, "nina", "quin")
    await close(shop)
    assert {m: s for m, (_, s, _) in invites(shop).items()} == {"nina": "held", "quin": "held"}
    shop.transport.clear()
    return shop


async def test_a_non_admin_cannot_list_pay_or_reject_even_with_an_admins_name(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await held_shop(tmp_path, clock)
    await shop.say("/referral pay 1", "mallory", name="admin")  # named admin, id is not
    await shop.say("/referral reject 2", "lily")  # a leader is not an admin
    await private(shop, "/referral pay 1", "alice")  # the inviter herself
    await private(shop, "/referral held", "bob")
    assert {m: s for m, (_, s, _) in invites(shop).items()} == {"nina": "held", "quin": "held"}
    assert not [p for p in payouts(shop) if p[1].startswith(("inviter", "invitee"))]
    assert shop.transport.private_texts("admin") == []
    assert not any("#1" in t for t in shop.transport.texts())


async def test_an_admin_lists_pays_and_rejects_privately_and_each_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await held_shop(tmp_path, clock)
    await shop.say("/referral held", "admin")
    [listed] = shop.transport.private_texts("admin")
    assert "#1" in listed and "#2" in listed and "24 小时内退群" in listed
    assert "nina" not in listed and shop.texts(G1) == []  # private, masked

    await private(shop, "/referral pay 1", "admin")
    await private(shop, "/referral pay 1", "admin")  # twice: the second finds it no longer held
    await private(shop, "/referral reject 2", "admin")
    await private(shop, "/referral pay 2", "admin")  # rejected: stays rejected
    answers = shop.transport.private_texts("admin")[1:]
    assert "已放行" in answers[0] and "不在暂扣状态" in answers[1]
    assert "已驳回" in answers[2] and "不在暂扣状态" in answers[3]
    assert {m: s for m, (_, s, _) in invites(shop).items()} == {"nina": "credited", "quin": "rejected"}
    assert points_of(shop.app.services).awarded("referral", "t1") == {"alice": 50, "nina": 20}
    assert sorted(payouts(shop)) == [("alice", "inviter:1"), ("nina", "invitee:1")]
    assert any("邀请好友成功" in t for t in shop.transport.private_texts("alice"))
    assert shop.transport.private_texts("bob") == []


async def test_a_malformed_or_unknown_id_gets_usage_or_not_found(tmp_path: Path, clock: FakeClock) -> None:
    shop = await held_shop(tmp_path, clock)
    await private(shop, "/referral pay", "admin")
    await private(shop, "/referral pay 99", "admin")
    answers = shop.transport.private_texts("admin")
    assert "用法" in answers[0] and "没有编号为 #99" in answers[1]
