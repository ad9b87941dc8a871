"""The fake-order guard (刷单), driven through chat: each pattern flagged from real orders, a control
that is not, findings told privately to the admins once, and flagged orders still counted.

Thresholds are config.yaml's defaults (`order_guard`): 3 orders from members who joined < 30 min
before and never spoke; a phone in the remarks of 2 ids, an address in those of 3 ids (a couple
sharing a flat is 2), the same normalised name on 2 ids; 3 cancels < 15 min after a broadcast.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from handlers.orderguard.jobs import check_job_id, close_job_id, job_check, job_check_close
from schedules import runtime
from tests.commerce.selling_kit import G1, G2, OPENS, Shop, build_shop, campaign_text
from tests.conftest import make_config
from tests.factories import group_message, joined, private_message
from tests.fakes import FakeClock

LONG_AGO = OPENS - timedelta(days=2)


async def shop_for(tmp_path: Path, clock: FakeClock) -> Shop:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=100, a2=100, limit=10))
    await shop.open()
    return shop


async def old_members(shop: Shop, *ids: str, group: str = G1) -> None:
    """Members who joined two days ago and have chatted since."""
    await shop.transport.inject(joined(*ids, group=group, at=LONG_AGO))
    for member_id in ids:
        await shop.transport.inject(
            group_message("大家好", member_id, group=group, at=LONG_AGO + timedelta(hours=1))
        )


async def check(shop: Shop, *, final: bool = False) -> None:
    """The job body as the scheduler runs it, with the app installed for `runtime.current`."""
    runtime.install(shop.app, shop.app.services, shop.app.services.campaigns)
    try:
        await (job_check_close("t1") if final else job_check("t1"))
    finally:
        runtime.uninstall()
    await shop.drain()


def alerts(shop: Shop, admin: str = "admin") -> list[str]:
    return [t for t in shop.transport.private_texts(admin) if "刷单疑点" in t]


def group_posts(shop: Shop) -> list[str]:
    return [m.text for m in shop.transport.sent if m.group_id]


def assert_nothing_in_groups(shop: Shop) -> None:
    for text in group_posts(shop):
        assert "刷单" not in text and "疑点" not in text and "一人多号" not in text, text


async def test_new_silent_members_are_flagged_and_chatty_or_old_ones_are_not(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await shop_for(tmp_path, clock)
    assert check_job_id("t1") in shop.registry.scheduler.job_ids()  # the open started the periodic check
    # control in group two: old members who chatted, and new members who said hello first
    await old_members(shop, "olga", "otto", "omar", group=G2)
    clock.advance(60)
    await shop.transport.inject(joined("hugo", "hana", "hein", group=G2, at=clock.now()))
    for member_id in ("hugo", "hana", "hein"):
        await shop.say("有人知道几点取货吗", member_id, G2)
    clock.advance(120)
    for member_id in ("olga", "otto", "omar", "hugo", "hana", "hein"):
        await shop.say("A1 1", member_id, G2)
    # group one: three members join and order two minutes later without a word
    await shop.transport.inject(joined("nora", "nick", "noah", group=G1, at=clock.now()))
    clock.advance(120)
    for member_id in ("nora", "nick", "noah"):
        await shop.say("A1 1", member_id, G1)
    clock.advance(600)
    await check(shop)
    [alert] = alerts(shop)
    assert "新人速单" in alert and "团购一群" in alert and "团购二群" not in alert
    assert "3 单" in alert and "入群不到 30 分钟" in alert
    assert "n…a" in alert and "nora" not in alert  # members masked
    assert alerts(shop, "lily") == [] and alerts(shop, "nora") == []
    assert check_job_id("t1") in shop.registry.scheduler.job_ids()  # still open: checks again later
    assert_nothing_in_groups(shop)
    # the next check repeats nothing
    await check(shop)
    assert len(alerts(shop)) == 1


async def test_look_alike_ids_by_phone_address_and_name(tmp_path: Path, clock: FakeClock) -> None:
    shop = await shop_for(tmp_path, clock)
    await old_members(shop, "anna", "cara", "dave", "eric", "fred", "gina", "hank", "ivan", "jack", "kate")
    await old_members(shop, "bill", group=G2)
    clock.advance(600)
    await shop.say("A1 1 备注 电话13812345678", "anna")
    await shop.say("A2 1 备注 138-1234-5678 放门口", "bill", G2)
    await shop.say("A1 1 备注 5栋1201", "dave")
    await shop.say("A1 1 备注 5号楼1201室", "eric")
    await shop.say("A1 1 备注 ５栋１２０１", "fred")
    await shop.say("A1 1 备注 3栋502", "gina")  # a couple: two ids, one flat -> not flagged
    await shop.say("A1 1 备注 3栋502 放门口", "hank")
    await shop.say("A1 1", "ivan", name="张三")
    await shop.say("A1 1", "jack", name="张 三2🍓")
    await shop.say("A1 1", "kate", name="李四")
    await shop.say("A1 1 备注 13900001111", "cara")
    await check(shop)
    [alert] = alerts(shop)
    assert alert.count("疑似一人多号") == 3
    assert "同一手机号 138****5678" in alert and "13812345678" not in alert
    assert "团购一群、团购二群" in alert  # the phone crosses groups
    assert "3 个 id 的备注是同一地址" in alert and "1201" not in alert
    assert "昵称相同或近似「张三」" in alert
    assert "g…a" not in alert and "h…k" not in alert and "d…e" in alert  # the couple
    assert "k…e" not in alert and "c…a" not in alert and "j…k" in alert
    assert_nothing_in_groups(shop)


async def test_cancels_right_after_a_broadcast(tmp_path: Path, clock: FakeClock) -> None:
    shop = await shop_for(tmp_path, clock)
    await old_members(shop, "carl", "cleo", "cody", "cyan")
    await old_members(shop, "dora", "dean", "dirk", group=G2)
    clock.advance(300)
    for member_id in ("carl", "cleo", "cody"):
        await shop.say("A1 2", member_id)
    for member_id in ("dora", "dean", "dirk"):
        await shop.say("A1 2", member_id, G2)
    node = next(n for n in shop.registry.effective_nodes("t1") if n.kind == "broadcast")
    clock.set(node.fire_at)
    await shop.registry.run_node("t1", node.node_id)
    await shop.drain()
    assert any("已售" in t for t in shop.texts(G1))
    clock.advance(5 * 60)
    await shop.say("A1 1", "cyan")  # ordered after the broadcast: its cancel does not count
    for member_id in ("carl", "cleo", "cody", "cyan"):
        await shop.say("取消 A1", member_id)
    clock.advance(20 * 60)  # group two cancels too, but 25 minutes after the broadcast
    for member_id in ("dora", "dean", "dirk"):
        await shop.say("取消全部", member_id, G2)
    await check(shop)
    [alert] = alerts(shop)
    assert alert.count("播报后撤单") == 1 and "团购一群" in alert and "团购二群" not in alert
    assert "20:30 销量播报后 15 分钟内撤单" in alert
    assert "c…n" not in alert and "c…l" in alert
    assert_nothing_in_groups(shop)


async def test_close_checks_once_more_and_flagged_orders_still_count(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await shop_for(tmp_path, clock)
    await shop.transport.inject(joined("nora", "nick", "noah", group=G1, at=clock.now()))
    clock.advance(60)
    for member_id in ("nora", "nick", "noah"):
        await shop.say("A1 1", member_id)
    await check(shop)
    assert len(alerts(shop)) == 1
    await shop.transport.inject(joined("nell", group=G1, at=clock.now()))
    await shop.say("A1 1", "nell")
    clock.set(OPENS + timedelta(hours=2))
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert close_job_id("t1") in shop.registry.scheduler.job_ids()  # scheduled after the close's commit
    results = [t for t in shop.texts(G1) if "团购战绩" in t]
    assert results and "本群：4 人下单，共 4 件" in results[-1]  # flagged orders count
    assert len(shop.sell.store.orders("t1")) == 4
    await check(shop, final=True)
    [_, late] = alerts(shop)
    assert "结团检查" in late and "n…l" in late and "n…a" not in late  # only the news
    await check(shop, final=True)  # a rerun (a restart) repeats nothing
    assert len(alerts(shop)) == 2
    assert_nothing_in_groups(shop)


async def test_guard_command_lists_findings_privately(tmp_path: Path, clock: FakeClock) -> None:
    shop = await shop_for(tmp_path, clock)
    await shop.transport.inject(joined("nora", "nick", "noah", group=G1, at=clock.now()))
    for member_id in ("nora", "nick", "noah"):
        await shop.say("A1 1", member_id)
    await check(shop)
    shop.transport.clear()
    await shop.say("/guard", "admin")  # typed in the group: answered privately
    [listing] = shop.transport.private_texts("admin")
    assert "新人速单" in listing and "n…a" in listing and group_posts(shop) == []
    await shop.transport.inject(private_message("/guard t1 --ids", "admin", at=clock.now()))
    assert "nora" in shop.transport.private_texts("admin")[-1]
    await shop.transport.inject(private_message("/guard --help", "admin", at=clock.now()))
    usage = shop.transport.private_texts("admin")[-1]
    assert "/guard 团购ID" in usage and "3 单及以上" in usage and "30 分钟" in usage
    await shop.transport.inject(private_message("/guard nope", "admin", at=clock.now()))
    assert "没有找到团购「nope」" in shop.transport.private_texts("admin")[-1]
    shop.transport.clear()
    await shop.say("/guard", "lily")  # a leader is not an admin
    assert not any("刷单疑点" in m.text for m in shop.transport.sent)


async def test_disabled_guard_schedules_and_tells_nothing(tmp_path: Path, clock: FakeClock) -> None:
    config = make_config(tmp_path, order_guard={"enabled": False})
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=100, a2=100, limit=10), config=config)
    await shop.open()
    assert check_job_id("t1") not in shop.registry.scheduler.job_ids()
    await shop.transport.inject(joined("nora", "nick", "noah", group=G1, at=clock.now()))
    for member_id in ("nora", "nick", "noah"):
        await shop.say("A1 1", member_id)
    await check(shop)
    assert alerts(shop) == []


async def test_members_first_seen_with_their_order_are_not_taken_for_newcomers(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The bot joined after them: their first message is their order, but no join was reported,
    so nothing says they are new (the shipped sample rehearsal's buyers are such members)."""
    shop = await shop_for(tmp_path, clock)
    for member_id in ("pia", "pat", "pol", "pam"):
        await shop.say("A1 1", member_id, G1)
    clock.advance(600)
    await check(shop)
    assert alerts(shop) == []
