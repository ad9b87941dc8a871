"""Bot-health alerts: long disconnects once, recovery once, growing backlog once."""

from __future__ import annotations

from datetime import timedelta

from bot.events import TransportStatus
from tests.conftest import AppFactory
from tests.fakes import FakeClock


async def test_short_blip_is_silent_long_outage_alerts_once(make_app: AppFactory, clock: FakeClock) -> None:
    app, transport = make_app()
    await transport.inject(TransportStatus("disconnected", clock.now(), "lost"))
    clock.advance(60)
    app.check_health()
    await transport.inject(TransportStatus("reconnected", clock.now()))
    assert transport.private_texts("admin") == []  # a one-minute blip is not news
    await transport.inject(TransportStatus("disconnected", clock.now(), "lost"))
    for _ in range(10):
        clock.advance(60)
        app.check_health()
    await app.services.outbox.drain()
    alerts = transport.private_texts("admin")
    assert len(alerts) == 1 and "断开已超过 5 分钟" in alerts[0]
    await transport.inject(TransportStatus("reconnected", clock.now()))
    assert len(transport.private_texts("admin")) == 2 and "已重新连接" in transport.private_texts("admin")[1]


async def test_logout_and_removal_are_reported_at_once(make_app: AppFactory, clock: FakeClock) -> None:
    app, transport = make_app()
    await transport.inject(TransportStatus("removed_from_group", clock.now(), group_id="团购一群"))
    await transport.inject(TransportStatus("logout", clock.now()))
    texts = transport.private_texts("admin")
    assert "已被移出群 团购一群" in texts[0] and "已退出登录" in texts[1]


async def test_growing_backlog_alerts_once(make_app: AppFactory, clock: FakeClock) -> None:
    app, transport = make_app()
    transport.connected = False
    for minute in range(6):
        for i in range(100):
            app.services.outbox.enqueue(f"m{minute}-{i}", group_id=f"g{i}")
        app.check_health()
        clock.advance(timedelta(minutes=1).total_seconds())
    notices = [t for t in [r.text for r in app.services.outbox.store.all_rows()] if "待发送消息已有" in t]
    assert len(notices) == 1 and "条且仍在增加" in notices[0]
