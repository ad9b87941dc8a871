"""Monitoring on a fake clock: a quiet period, a burst, stock draining — exactly the expected alerts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from handlers.monitoring.monitor import CampaignMonitor
from tests.commerce.selling_kit import G1, build_shop, campaign_text
from tests.factories import joined
from tests.fakes import FakeClock

MEMBERS = [f"m{i:02d}" for i in range(20)]


async def test_quiet_burst_and_stock_drain(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=(G1,), a1=10, a2=50, limit=3))
    monitor: CampaignMonitor = shop.app.services.get(CampaignMonitor)
    campaign = shop.registry.campaigns["t1"].campaign
    await shop.open()
    await shop.transport.inject(joined(*MEMBERS, at=clock.now()))
    await shop.drain()
    shop.transport.clear()
    fired: list[tuple[int, str, str, str]] = []

    async def minute(m: int, chatter: list[str] = (), orders: list[tuple[str, str]] = ()) -> None:
        for sender in chatter:
            await shop.say("今天的草莓甜吗", sender=sender, drain=False)
        for sender, text in orders:
            await shop.say(text, sender=sender, drain=False)
        clock.advance(60)
        for alert in monitor.check(campaign, [G1], clock.now()):
            fired.append((m, alert.rule, alert.transition, alert.subject))
        await shop.drain()

    # Ten quiet minutes: nobody speaks.
    for m in range(10):
        await minute(m)
    assert fired == [(3, "messages_per_minute", "fire", ""), (5, "active_ratio", "fire", "")]

    # A burst: 15 members chat for five minutes; five of them order.
    buyers = [("m00", "接龙 A1 2"), ("m01", "A1+2"), ("m02", "A1 x2"), ("m03", "接龙 A1 2"), ("m04", "A2 1")]
    for m in range(10, 15):
        await minute(m, chatter=MEMBERS[:15], orders=buyers if m == 10 else [])
    # Messages a minute are averaged over 5 minutes: 20/5, 35/5, then 50/5 = 10 at minute 12.
    assert fired[2:] == [(10, "active_ratio", "recover", ""), (12, "messages_per_minute", "recover", "")]

    # Stock drains: one more order leaves A1 at 1 of 10 (10 %).
    await minute(15, chatter=MEMBERS[:15], orders=[("m05", "A1 1")])
    assert fired[4:] == [(15, "stock_ratio", "fire", "A1")]
    stock_alert = monitor.history[-1]
    assert (stock_alert.value, stock_alert.threshold) == (0.1, 0.2)

    # It stays low for half an hour with steady chat: no storm.
    for m in range(16, 46):
        await minute(m, chatter=MEMBERS[:15])
    assert len(fired) == 5

    # The leader restocks: recovery is announced once.
    await shop.say("/stock A1 +20", sender="lily")
    await minute(46, chatter=MEMBERS[:15])
    assert fired[5:] == [(46, "stock_ratio", "recover", "A1")]

    # Alerts went privately to the group's leader and the admins, never to the group.
    lily, admin = shop.transport.private_texts("lily"), shop.transport.private_texts("admin")
    alert_texts = [t for t in lily if t.startswith(("⚠️", "✅"))]
    assert len(alert_texts) == 6 and [t for t in admin if t.startswith(("⚠️", "✅"))] == alert_texts
    assert "每分钟消息数为 0，低于 10" in alert_texts[0] and "/redpacket 20 50" in alert_texts[0]
    assert "活跃成员占比为 0.0%，低于 50.0%" in alert_texts[1]
    assert (
        "库存剩余（A1 丹东草莓）为 10.0%，低于 20.0%" in alert_texts[4] and "/stock A1 +50" in alert_texts[4]
    )
    assert "已恢复" in alert_texts[5]
    assert not any(t.startswith(("⚠️", "✅")) for t in shop.texts(G1))
    assert shop.transport.private_texts("mike") == []  # leads another group


async def test_conversion_alert_waits_its_duration_and_cooldown(tmp_path: Path, clock: FakeClock) -> None:
    text = campaign_text(groups=(G1,), a1=100, a2=100) + "monitoring:\n  conversion: {threshold: 0.5}\n"
    shop = build_shop(tmp_path, clock, text=text)
    monitor: CampaignMonitor = shop.app.services.get(CampaignMonitor)
    campaign = shop.registry.campaigns["t1"].campaign
    await shop.open()
    await shop.transport.inject(joined(*MEMBERS, at=clock.now()))
    fired = []
    for m in range(40):
        for sender in MEMBERS[:10]:
            await shop.say("看看", sender=sender, drain=False)
        if m == 0:
            await shop.say("A1 1", sender="m00", drain=False)
        clock.advance(timedelta(minutes=1).total_seconds())
        fired += [
            (m, a.rule, a.transition)
            for a in monitor.check(campaign, [G1], clock.now())
            if a.rule == "conversion"
        ]
    # 1 buyer of 10 active = 10 % < 50 %: first seen at the check after minute 0, held 10 minutes,
    # checked every 5: fires once at minute 10, then silence (cool-down 60 min, still breached).
    assert fired == [(10, "conversion", "fire")]
    assert abs(monitor.history[[a.rule for a in monitor.history].index("conversion")].value - 0.1) < 1e-9


async def test_daily_summary_goes_to_each_leader_for_their_groups(tmp_path: Path, clock: FakeClock) -> None:
    from handlers.monitoring.daily import send_daily_summaries

    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.transport.inject(joined("newbie", at=clock.now()))
    await shop.say("接龙 A1 2", sender="alice")
    await shop.say("A2 1", sender="bob", group="团购二群")
    assert send_daily_summaries(shop.app.services) == 2
    await shop.drain()
    lily, mike = shop.transport.private_texts("lily")[-1], shop.transport.private_texts("mike")[-1]
    assert "【团购一群】" in lily and "团购二群" not in lily and "成交额 ¥20" in lily and "新进 1" in lily
    assert "【团购二群】" in mike and "成交额 ¥20.50" in mike
