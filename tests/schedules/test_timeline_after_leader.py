"""The timeline after a leader steps in: early close and open, delay, countdown, status, bounds.

Issue 13 items 5, 6, 7, 8 and 14 (status without an id), issue 12 item 8 (huge durations).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from handlers.monitoring import jobs
from handlers.selling.leader import job_countdown
from schedules import runtime
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, build_shop, campaign_text
from tests.factories import joined
from tests.fakes import FakeClock

TIMELINE = campaign_text().replace(
    "countdowns: [T-10m, T-5m, T-1m]",
    """preheat:
  - {at: T-1d, text: 明晚8点开团！}
countdowns: [T-10m, T-5m, T-1m]
red_packets:
  - {at: T-10m, packets: 5, budget: 10}
  - {at: T-5m, packets: 5, budget: 10}
followups:
  - {at: C+1d, text: 📷 晒单有礼}""",
)


async def test_a_group_closed_early_gets_no_more_sale_posts_but_its_followups(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock, text=TIMELINE)
    clock.set(OPENS - timedelta(days=2))
    await shop.say("/close", "lily")  # a leader closes group one long before the sale
    for node in shop.registry.effective_nodes("t1"):
        clock.set(max(clock.now(), node.fire_at))
        await shop.registry.run_node("t1", node.node_id)
    await shop.drain()
    g1 = shop.texts(G1)
    assert not any("明晚8点开团" in t or "倒计时" in t or "抵扣" in t or "现在开团" in t for t in g1), g1
    assert any("晒单有礼" in t for t in g1)  # follow-ups still run
    assert any("明晚8点开团" in t for t in shop.texts(G2)) and any("抵扣" in t for t in shop.texts(G2))
    assert shop.registry.store.group_status("t1", G1) == "closed"  # the opening did not reopen it
    states = {(n.node_id, g): (s, d) for n, g, s, d in shop.registry.node_states("t1")}
    for node_id in ("preheat-T-1d", "redpacket-T-10m", "countdown-T-5m", "open", "broadcast-T+30m"):
        assert states[(node_id, G1)] == ("skipped", "group closed early"), node_id
    assert states[("followup-C+1d", G1)][0] == "posted"


async def test_no_sale_alerts_for_a_group_closed_early(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.transport.inject(joined(*(f"m{i}" for i in range(5)), group=G1, at=clock.now()))
    await shop.transport.inject(joined(*(f"n{i}" for i in range(5)), group=G2, at=clock.now()))
    await shop.say("/close", "lily")
    runtime.install(shop.app, shop.app.services, shop.app.services.campaigns)
    try:
        for _ in range(10):  # ten silent minutes in both groups
            clock.advance(60)
            await jobs.job_monitor("t1")
    finally:
        runtime.uninstall()
    await shop.drain()
    alerts = [t for t in shop.transport.private_texts("lily") if t.startswith("⚠️")]
    assert alerts == []
    assert any(t.startswith("⚠️") for t in shop.transport.private_texts("mike"))  # group two is still open


async def test_stats_after_an_early_open_count_from_the_real_opening(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(hours=1))
    await shop.transport.inject(joined("a", "b", "c", "d", group=G1, at=clock.now()))
    clock.set(OPENS - timedelta(minutes=20))
    await shop.say("/open", "lily")
    await shop.say("A1 1", "a")
    await shop.say("A1 1", "b")
    await shop.say("今天的草莓甜吗", "c")
    clock.set(OPENS - timedelta(minutes=10))
    shop.transport.clear()
    await shop.say("/stats", "lily")
    [stats] = shop.transport.private_texts("lily")
    # a and b ordered, c spoke, lily opened the sale: four active of five members
    assert "= 2/4 = 50.0%" in stats and "= 2/5 = 40.0%" in stats, stats


async def test_delay_after_an_early_open_confirms_and_schedules_the_shifted_times(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(minutes=30))
    await shop.say("/campaign delay t1 15m", "lily")
    assert "20:15 开团" in shop.texts(G1)[-1]
    await shop.say("/open", "lily")
    await shop.say("/campaign delay t1 15m", "lily")
    reply = shop.texts(G1)[-1]
    assert "20:30 开团" in reply and "22:30 截单" in reply, reply
    opens_at, closes_at = shop.registry.effective_times("t1")
    assert (opens_at, closes_at) == (OPENS + timedelta(minutes=30), CLOSES + timedelta(minutes=30))
    # Group two still opens, and at the shifted time.
    assert [n.fire_at for n in shop.registry.effective_nodes("t1") if n.node_id == "open"] == [opens_at]


async def test_leader_countdown_at_a_node_s_time_posts_once(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(minutes=30))
    await shop.say("/countdown 5m", "lily")
    clock.set(OPENS - timedelta(minutes=5))
    await shop.registry.run_node("t1", "countdown-T-5m")
    clock.advance(9)
    runtime.install(shop.app, shop.app.services, shop.app.services.campaigns)
    try:
        await job_countdown("t1", G1, 300)
    finally:
        runtime.uninstall()
    await shop.drain()
    assert len([t for t in shop.texts(G1) if "倒计时 5分钟" in t]) == 1


async def test_huge_durations_get_the_usage_line_not_a_failure(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(minutes=30))
    for command in ("/campaign delay t1 99999999999d", "/campaign delay t1 31d", "/countdown 99999999d"):
        await shop.say(command, "lily")
        reply = shop.texts(G1)[-1]
        assert "出错" not in reply and "用法" in reply, (command, reply)
        if "31d" in command:
            assert "推迟最长 30天" in reply, reply
    assert shop.registry.control("t1").delay_seconds == 0


async def test_campaign_status_without_an_id(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.say("/campaign status", "lily")
    reply = shop.texts(G1)[-1]
    assert "活动 t1「测试鲜果团」" in reply and "待发" in reply, reply
    # Two live campaigns in the group: list them instead.
    second = shop.path.with_name("t2.yaml")
    second.write_text(shop.path.read_text(encoding="utf-8").replace("id: t1", "id: t2"), encoding="utf-8")
    assert shop.registry.load_file(second) == []
    await shop.say("/campaign status", "lily")
    reply = shop.texts(G1)[-1]
    assert "t1「测试鲜果团」" in reply and "t2「测试鲜果团」" in reply and "/campaign status 活动ID" in reply
