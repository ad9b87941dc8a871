"""我的等级: answered privately (asked in a group or privately), with the tier, its perks, its
expiry and how far the next tier is; never in the group; chatter and 我的等级 run no statement of
this feature on the event loop (tests/bot/test_hot_path_no_db.py's recorder)."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_hot_path_no_db import LoopStatements
from tests.commerce.selling_kit import CLOSES, G1, Shop
from tests.factories import private_message
from tests.fakes import FakeClock
from tests.tiers.kit import run_sale, tier_shop


async def ask(shop: Shop, member: str, *, privately: bool = False) -> str:
    before = len(shop.transport.private_texts(member))
    if privately:
        await shop.transport.inject(private_message("我的等级", member, at=shop.clock.now()))
    else:
        await shop.say("我的等级", member)
    answers = shop.transport.private_texts(member)[before:]
    assert len(answers) == 1, answers
    return answers[0]


async def test_my_tier_shows_the_tier_its_perks_and_the_way_up(tmp_path: Path, clock: FakeClock) -> None:
    shop = tier_shop(tmp_path, clock)
    await run_sale(shop, "t1", [("alice", "A1 3", G1), ("dave", "A1 1", G1), ("bob", "A2 5", G1)])
    clock.set(CLOSES.replace(hour=20))
    in_group = len(shop.texts(G1))

    dave = await ask(shop, "dave")
    assert "会员等级：普通" in dave
    assert "升级「银卡」需要近 90 天消费满 ¥30.00" in dave
    assert "你已消费 ¥10.00，参加 1 次团购" in dave and "还差 ¥20.00。" in dave

    alice = await ask(shop, "alice", privately=True)
    assert "会员等级：银卡" in alice and "每个商品可多买 1 件" in alice and "有效期至 3月5日" in alice
    assert "升级「VIP」需要近 90 天消费满 ¥100.00，或参加 2 次团购" in alice
    assert "还差 ¥70.00，或再参加 1 次团购。" in alice

    bob = await ask(shop, "bob")
    assert "会员等级：VIP" in bob and "开团前 30 分钟" in bob and "满减后再减 5%" in bob and "最高等级" in bob
    assert len(shop.texts(G1)) == in_group  # nothing said in the group

    await shop.say("我的等级", "dave")  # asked again at once: not answered twice
    assert len([t for t in shop.transport.private_texts("dave") if "会员等级" in t]) == 1


async def test_chatter_and_my_tier_run_no_statement_of_tiers_on_the_loop(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = tier_shop(tmp_path, clock)
    await run_sale(shop, "t1", [("alice", "A1 3", G1)])
    await shop.say("早上好", "alice")
    shop.app.flush_inbound()
    clock.advance(120)
    ours = LoopStatements(shop.app, within="handlers/tiers")
    try:
        ours.recording = True
        chatter = await shop.say("哈哈哈，今天天气真好", "alice")
        asked = await shop.say("我的等级", "alice")
        ours.recording = False
    finally:
        ours.close()
    assert chatter.handled_by == ""
    assert asked.handled_by == "handlers.tiers.chat.handle_my_tier"
    assert ours.seen == [], "\n".join(ours.seen)
    assert "会员等级：银卡" in shop.transport.private_texts("alice")[-1]  # it did read, off the loop
