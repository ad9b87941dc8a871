"""Invites from joins and codes: only newcomers count, once; `我的邀请码` and `邀请码 X` are
answered privately; a leave is noted; `邀请排行` shows masked names and is not repeated at once."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from handlers.referral.store import BIND_WITHIN
from handlers.referral.tables import INVITES
from tests.commerce.selling_kit import CLOSES, G1, G2
from tests.fakes import FakeClock
from tests.referral.kit import BEFORE, close, invites, join, leave, private, shop_of

CODE = re.compile(r"专属邀请码：([2-9A-HJ-NP-Z]{6})")


async def code_of(shop, member: str) -> str:  # type: ignore[no-untyped-def]
    await private(shop, "我的邀请码", member)
    [found] = CODE.findall(shop.transport.private_texts(member)[-1])
    return str(found)


async def test_a_join_with_an_inviter_is_an_invite_for_newcomers_only(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_of(tmp_path, clock)
    await shop.say("大家好", "old")  # seen in group one before
    await shop.say("大家好", "elsewhere", group=G2)  # seen in group two before
    clock.advance(60)
    await join(shop, "nina", "old", "elsewhere", "alice", by="alice")
    await leave(shop, "nina")
    clock.advance(60)
    await join(shop, "nina", by="bob")  # came back: already alice's invitee, and not new any more
    found = invites(shop)
    assert set(found) == {"nina", "elsewhere"}  # not the old member, not the inviter herself
    assert found["nina"][:2] == ("alice", "pending")
    assert found["elsewhere"][0] == "alice"
    with shop.app.services.repo.engine.connect() as conn:
        rows = {r.member_id: r for r in conn.execute(select(INVITES)).all()}
    assert rows["elsewhere"].seen_elsewhere and not rows["nina"].seen_elsewhere
    assert rows["nina"].left_at is not None


async def test_joins_outside_a_referral_campaign_are_not_invites(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_of(tmp_path, clock)
    clock.set(CLOSES + timedelta(minutes=1))
    await join(shop, "late", by="alice")
    await join(shop, "nobody", by=None)
    assert invites(shop) == {}


async def test_my_code_is_private_and_stable_and_a_newcomer_binds_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_of(tmp_path, clock)
    await shop.say("我的邀请码", "alice")
    assert shop.texts(G1) == []  # nothing in the group
    [told] = shop.transport.private_texts("alice")
    code = CODE.findall(told)[0]
    assert "优惠券 + 50 积分" in told and "累计邀请成功 3 位" in told
    assert await code_of(shop, "alice") == code  # the same code, asked again privately

    await join(shop, "hana", by=None)
    await shop.say(f"邀请码 {code.lower()}", "hana")  # typed in lower case, with a space
    assert not [t for t in shop.texts(G1) if code in t or "绑定" in t]
    assert "已绑定邀请人 a**" in shop.transport.private_texts("hana")[-1]
    assert invites(shop)["hana"][:2] == ("alice", "pending")

    await shop.say(f"邀请码：{code}", "hana")  # a second time
    assert "已经有邀请人" in shop.transport.private_texts("hana")[-1]
    assert invites(shop)["hana"][0] == "alice"


async def test_a_code_is_refused_for_old_members_unknown_codes_and_oneself(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_of(tmp_path, clock)
    code = await code_of(shop, "alice")
    await shop.say("大家好", "old")  # in the group before the bot saw any join
    await shop.say(f"邀请码 {code}", "old")
    assert "新入群的朋友" in shop.transport.private_texts("old")[-1]
    await shop.say(f"邀请码 {code}", "alice")
    assert "自己的邀请码" in shop.transport.private_texts("alice")[-1]
    await join(shop, "hana", by=None)
    await private(shop, "邀请码 ZZZZZZ", "hana")
    assert "不存在" in shop.transport.private_texts("hana")[-1]
    clock.advance(BIND_WITHIN.total_seconds() + 60)  # hana joined more than three days ago
    await private(shop, f"邀请码 {code}", "hana")
    assert "新入群的朋友" in shop.transport.private_texts("hana")[-1]
    assert invites(shop) == {}


async def test_a_newcomer_cannot_name_their_own_invitee(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_of(tmp_path, clock)
    await join(shop, "nina", by="hana")  # hana brought nina...
    await join(shop, "hana", by=None)
    nina_code = await code_of(shop, "nina")
    await shop.say(f"邀请码 {nina_code}", "hana")  # ...so nina cannot be hana's inviter
    assert "互相邀请" in shop.transport.private_texts("hana")[-1]
    assert set(invites(shop)) == {"nina"}


async def test_the_board_masks_names_and_answers_once_a_minute(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_of(tmp_path, clock)
    await join(shop, "nina", "omar", by="alice")
    await join(shop, "pia", by="王阿姨13812345678")
    shop.transport.clear()
    await shop.say("邀请排行", "carol")
    await shop.say("邀请排行！", "dave")  # within the minute: not posted again
    [board] = [t for t in shop.texts(G1) if "邀请排行" in t]
    assert "1. a**  邀请 2 人" in board and "2. 王**  邀请 1 人" in board
    assert "alice" not in board and "13812345678" not in board and "nina" not in board
    clock.advance(61)
    await shop.say("邀请排行", "carol")
    assert len([t for t in shop.texts(G1) if "邀请排行" in t]) == 2


async def test_progress_posts_are_coalesced_one_per_window(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_of(tmp_path, clock)
    for i, member in enumerate(("nina", "omar", "pia")):
        await join(shop, member, by="alice" if i < 2 else "bob", drain=False)
        clock.advance(60)
    await shop.drain()
    posted = [
        (m.text, t)
        for m, t in zip(shop.transport.sent, shop.transport.sent_at, strict=True)
        if "邀请排行" in m.text
    ]
    assert len(posted) == 1  # three changes, one post (replaced while it waited)
    assert "a**  邀请 2 人" in posted[0][0] and "b**  邀请 1 人" in posted[0][0]
    assert posted[0][1] >= BEFORE + timedelta(minutes=30)  # board.every after the first change

    await join(shop, "quin", by="bob", drain=False)  # after the post left: a new one, a window later
    changed_at = clock.now()
    await shop.drain()
    later = [
        (m.text, t)
        for m, t in zip(shop.transport.sent, shop.transport.sent_at, strict=True)
        if "邀请排行" in m.text
    ]
    assert len(later) == 2 and "b**  邀请 2 人" in later[1][0]
    assert later[1][1] >= changed_at + timedelta(minutes=30)


async def test_closing_posts_nothing_for_a_group_without_invites(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_of(tmp_path, clock)
    await shop.open()
    await close(shop)
    assert not [t for t in shop.transport.texts() if "邀请排行" in t]
    assert shop.transport.private_texts("admin") == []
