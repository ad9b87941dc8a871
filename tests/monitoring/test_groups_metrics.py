"""All of a campaign's groups measured with grouped queries: each group gets its own figures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import handlers.monitoring.activity as activity
from handlers.monitoring.metrics import groups_metrics
from tests.commerce.selling_kit import G1, G2, build_shop
from tests.factories import joined
from tests.fakes import FakeClock

G3 = "没有活动的群"


async def test_each_group_gets_its_own_figures_across_query_chunks(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity, "CHUNK", 1)  # one group per query: chunks must not mix groups
    shop = build_shop(tmp_path, clock)
    await shop.open()
    since = clock.now()
    await shop.transport.inject(joined("a", "b", "c", group=G1, at=clock.now()))
    await shop.transport.inject(joined("d", "e", group=G2, at=clock.now()))
    await shop.say("今天的草莓甜吗", sender="a", group=G1)
    await shop.say("接龙 A1 2", sender="b", group=G1)  # 2 × ¥59.90 in the kit
    await shop.say("接龙 A2 1", sender="d", group=G2)
    await shop.say("接龙 A2 1", sender="d", group=G2)
    clock.advance(60)
    until = clock.now()

    m = groups_metrics(shop.app.services.repo.engine, "t1", [G1, G2, G3], since, until)
    assert (m[G1].members, m[G1].activity.messages, len(m[G1].activity.speakers)) == (3, 2, 2)
    assert (m[G1].buyers, m[G1].sales.orders, m[G1].sales.units, m[G1].active_members) == (1, 1, 2, 2)
    assert (m[G2].members, m[G2].activity.joined, m[G2].buyers, m[G2].sales.orders, m[G2].sales.units) == (
        2,
        2,
        1,
        2,
        2,
    )
    assert m[G1].sales.gmv_cents > 0 and m[G2].sales.gmv_cents > 0
    assert (m[G3].members, m[G3].activity.messages, m[G3].buyers, m[G3].sales.gmv_cents) == (0, 0, 0, 0)
    later = groups_metrics(shop.app.services.repo.engine, "t1", [G1, G2], until, until + timedelta(minutes=5))
    assert later[G1].activity.messages == 0 and later[G1].members == 3  # members are "now", not windowed


def test_a_buyer_no_longer_in_the_group_does_not_push_activity_over_100_percent() -> None:
    """After `member forget` (or a buyer leaving), their orders still count a buyer the member
    count no longer has: 活跃% read 120 (session 38's second walk)."""
    from handlers.monitoring.activity import Activity
    from handlers.monitoring.metrics import GroupMetrics, Sales

    activity = Activity(5, frozenset({"a", "b", "c"}), 9, 0, 0, 3600.0)
    sales = Sales(frozenset({"c", "d", "e", "forgotten-x1"}), 4, 9, 9000)
    figures = GroupMetrics("g", "t1", activity, sales)
    assert figures.active_members == 6
    assert figures.members == 6  # the five still in the group, and the buyer who is not
    assert figures.active_ratio == 1.0
    assert figures.conversion_all <= figures.conversion_active
