"""The alert check counts in SQL: the same figures as GroupMetrics, one row per group read back."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import handlers.monitoring.activity as activity
from handlers.monitoring.figures import groups_rule_figures
from handlers.monitoring.metrics import groups_metrics
from handlers.monitoring.monitor import GROUP_RULES, CampaignMonitor
from tests.commerce.selling_kit import G1, G2, Shop, build_shop
from tests.factories import joined
from tests.fakes import FakeClock

G3 = "没有活动的群"
CHATTY = [f"m{i:02d}" for i in range(12)]


async def _busy_minute(shop: Shop) -> None:
    """Chatter, orders, a cancelled order and a second sale: every way a figure can differ."""
    for sender in CHATTY[:5]:
        await shop.say("今天的草莓甜吗", sender=sender)
    await shop.say("接龙 A1 2", sender="m00")  # a speaker who buys
    await shop.say("A2 1", sender="m05")  # buys without having chatted
    await shop.say("A2 1", sender="m05")
    await shop.say("A1 1", sender="m06")
    await shop.say("取消 A1", sender="m06")  # cancelled: active, not a buyer
    await shop.say("接龙 A2 1", sender="m07", group=G2)
    await shop.say("大家好", sender="m08", group=G2)


@pytest.mark.parametrize("chunk", [1, 3, 900])
async def test_rule_figures_are_the_group_metrics_figures(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, chunk: int, db_url: str
) -> None:
    monkeypatch.setattr(activity, "CHUNK", chunk)  # 1: the group list bound twice still splits into parts
    shop = build_shop(tmp_path, clock, db_url=db_url)
    await shop.open()
    await shop.transport.inject(joined(*CHATTY[:8], group=G1, at=clock.now()))
    await shop.transport.inject(joined(*CHATTY[6:], group=G2, at=clock.now()))
    await shop.say("早", sender="m09")  # before the second window
    clock.advance(300)
    since = clock.now()
    await _busy_minute(shop)
    clock.advance(60)
    shop.app.services.flush_inbound()
    engine = shop.app.services.repo.engine

    for window_start in (since, since - timedelta(minutes=10)):  # without and with m09's word
        until = clock.now()
        old = groups_metrics(engine, "t1", [G1, G2, G3], window_start, until)
        new = groups_rule_figures(engine, "t1", [G1, G2, G3], window_start, until)
        for group in (G1, G2, G3):
            o, n = old[group], new[group]
            assert (n.members, n.messages, n.active_members, n.buyers) == (
                o.members,
                o.activity.messages,
                o.active_members,
                o.buyers,
            )
            assert (n.active_ratio, n.messages_per_minute, n.conversion_active) == (
                o.active_ratio,
                o.activity.messages_per_minute,
                o.conversion_active,
            )
    m = groups_rule_figures(engine, "t1", [G1, G3], since, clock.now())
    assert (m[G1].members, m[G1].active_members, m[G1].buyers) == (9, 7, 2)  # m09 joined by speaking
    assert m[G3] == groups_rule_figures(engine, "t1", [G3], since, clock.now())[G3]
    assert (m[G3].members, m[G3].messages, m[G3].active_members, m[G3].buyers) == (0, 0, 0, 0)


async def test_a_check_reads_back_one_row_per_group_however_many_members_speak(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A check's Python objects must not grow with the members who spoke: at a thousand groups,
    per-(group, member) rows were ~37,000 objects a check and brought on a full garbage
    collection that held the event loop for up to ~280 ms (docs/performance.md, issue 14)."""
    shop = build_shop(tmp_path, clock)
    monitor: CampaignMonitor = shop.app.services.get(CampaignMonitor)
    campaign = shop.registry.campaigns["t1"].campaign
    await shop.open()
    for group in (G1, G2):
        await shop.transport.inject(joined(*CHATTY, group=group, at=clock.now()))
        for sender in CHATTY:
            await shop.say("今天有什么好吃的", sender=sender, group=group)
        await shop.say("接龙 A1 1", sender=CHATTY[0], group=group)
    clock.advance(60)
    engine = shop.app.services.repo.engine
    rows_read: list[tuple[str, int]] = []
    checker = threading.get_ident()

    def count_rows(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if threading.get_ident() == checker and statement.lstrip().upper().startswith("SELECT"):
            with sqlite3.connect(engine.url.database or "") as side:  # the same rows, read beside it
                (count,) = side.execute(f"SELECT count(*) FROM ({statement})", parameters).fetchone()
            rows_read.append((statement.split("FROM", 2)[1][:40], count))

    event.listen(engine, "before_cursor_execute", count_rows)
    try:
        observations = monitor.observe(campaign, [G1, G2], clock.now())
    finally:
        event.remove(engine, "before_cursor_execute", count_rows)

    measured = {(o.group_id, o.rule) for o in observations}
    assert measured >= {(g, rule) for g in (G1, G2) for rule in GROUP_RULES}  # the check did measure
    assert len(rows_read) >= 2 * len(GROUP_RULES)
    assert max(count for _, count in rows_read) <= 2, rows_read  # two groups (and two products)
