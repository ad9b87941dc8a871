"""Leader commands (/open /close /orders /stats /export /countdown) and the countdown and close posts."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from handlers.selling.leader import format_left, job_countdown
from schedules import runtime
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, build_shop, campaign_text
from tests.fakes import FakeClock


async def test_countdowns_say_the_exact_time_left(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(minutes=10))
    await shop.registry.run_node("t1", "countdown-T-10m")
    clock.set(OPENS - timedelta(minutes=5) + timedelta(seconds=90))  # ran late: counts from now
    await shop.registry.run_node("t1", "countdown-T-5m")
    await shop.drain()
    texts = shop.texts(G1)
    assert "倒计时 10分钟！【测试鲜果团】20:00 准时开团" in texts[0]
    assert "倒计时 3分30秒！" in texts[1]
    assert [format_left(timedelta(seconds=s)) for s in (45, 600, 3900)] == ["45秒", "10分钟", "1小时5分钟"]


async def test_leader_countdown_on_the_fly(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(minutes=30))
    await shop.say("/countdown 5m", "lily")
    assert "20:55" not in shop.texts()[-1] and "19:55" in shop.texts()[-1]
    scheduler = shop.registry.scheduler
    assert scheduler is not None
    [job] = [j for j in scheduler.get_jobs() if j.id.startswith("countdown:t1:")]
    assert job.args == ("t1", G1, 300)
    clock.set(OPENS - timedelta(minutes=5))
    runtime.install(shop.app, shop.app.services, shop.app.services.campaigns)
    try:
        await job_countdown("t1", G1, 300)
        await job_countdown("t1", G1, 300)  # a retried job posts nothing twice
    finally:
        runtime.uninstall()
    await shop.drain()
    assert [t for t in shop.texts(G1) if "倒计时 5分钟" in t] == [shop.texts(G1)[-1]]
    assert not any("倒计时" in t for t in shop.texts(G2))  # only the leader's own group
    clock.set(OPENS - timedelta(seconds=45))
    await shop.say("/countdown", "lily")
    assert "倒计时 45秒！" in shop.texts(G1)[-1]
    await shop.say("/countdown 5m", "bob")
    assert "倒计时" not in shop.texts(G1)[-1]  # members may not


async def test_early_open_and_close_in_one_group(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(minutes=20))
    await shop.say("/open", "lily")
    assert "现在开团" in shop.texts(G1)[-1] and shop.texts(G2) == []
    await shop.say("A1 2", "a", name="阿花")
    await shop.say("A1 1", "b", group=G2)  # group two still waits for T
    assert "还没开团" in shop.texts(G2)[-1]
    clock.set(OPENS - timedelta(minutes=10))
    await shop.registry.run_node("t1", "countdown-T-10m")
    await shop.drain()
    assert not any("倒计时" in t for t in shop.texts(G1)) and any("倒计时" in t for t in shop.texts(G2))
    await shop.say("/open", "lily")
    assert "已经开团" in shop.texts(G1)[-1]

    await shop.say("/close", "lily")
    closing = [t for t in shop.texts(G1) if "已结团" in t and "战绩" in t]
    assert len(closing) == 1 and "本群：1 人下单，共 2 件，成交额 ¥20" in closing[0]
    assert any("感谢 阿花 的支持" in t for t in shop.texts(G1))
    assert any("下周预告：云南蓝莓" in t for t in shop.texts(G1))
    await shop.say("A1 1", "c")
    assert "已结团" in shop.texts(G1)[-1]

    clock.set(OPENS)
    await shop.registry.run_node("t1", "open")
    clock.set(CLOSES)
    before = len(shop.texts(G1))
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert len(shop.texts(G1)) == before  # the scheduled nodes find group one done: nothing twice
    assert any("战绩" in t for t in shop.texts(G2))


async def test_orders_stats_and_export(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=20, a2=20, limit=5))
    await shop.open()
    await shop.say("A1 2", "a", name="阿花")
    await shop.say("A2 1", "b", name="小白")
    await shop.say("自提 南区", "b")
    await shop.say("大家好", "c")
    await shop.say("A1 1", "d", group=G2)
    await shop.say("/orders", "lily")
    listing = shop.texts(G1)[-1]
    assert "1. 阿花 丹东草莓×2" in listing and "2. 小白 赣南脐橙×1" in listing and "🆕" not in listing
    await shop.say("/orders A2", "lily")
    assert "阿花" not in shop.texts(G1)[-1] and "小白 赣南脐橙×1" in shop.texts(G1)[-1]

    await shop.say("/stats", "lily")
    [stats] = shop.transport.private_texts("lily")
    assert "订单 2 笔 · 下单 2 人 · 3 件" in stats and "¥40.50" in stats
    assert "下单人数 / 开团后活跃的成员（发言或下单）" in stats and "下单人数 / 全部群成员" in stats
    assert "2/4" in stats  # buyers over members who spoke since opening (a, b, c, lily)

    await shop.say("/export", "lily")
    note = shop.transport.private_texts("lily")[-1]
    assert "订单已导出" in note and "南区便利店：1 件" in note and "未选择：2 件" in note
    [path] = list((tmp_path / "data" / "exports").glob("t1-*.csv"))
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:4] == ["自提点", "群", "成员ID", "昵称"]
    assert [(r[0], r[2], r[4], r[6]) for r in rows[1:]] == [
        ("南区便利店", "b", "A2", "1"),
        ("未选择", "a", "A1", "2"),
    ]
    assert not any("订单已导出" in t for t in shop.texts(G1))  # nothing about it in the group


async def test_stats_today_and_by_campaign_id(tmp_path, clock) -> None:
    from tests.commerce.selling_kit import build_shop
    from tests.factories import joined

    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.transport.inject(joined("newbie", at=clock.now()))
    await shop.say("接龙 A1 2", sender="alice")
    await shop.say("今天几点取货", sender="bob")
    await shop.say("/stats today", sender="lily")
    today = shop.transport.private_texts("lily")[-1]
    assert "今日数据" in today and "新进 1" in today and "订单 1 笔 · 下单 1 人 · 2 件 · 成交额 ¥20" in today
    await shop.say("/stats campaign t1", sender="lily")
    assert "测试鲜果团" in shop.transport.private_texts("lily")[-1]
    await shop.say("/stats today", sender="bob")
    assert "仅限团长" in shop.texts()[-1]
