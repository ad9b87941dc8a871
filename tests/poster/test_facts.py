"""The poster's facts come from the results computations, agree with the report, and are masked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from handlers.monitoring.report import build_report
from handlers.poster import poster_facts
from handlers.selling.results import compute_results
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, build_shop, campaign_text
from tests.fakes import FakeClock

PHONE_GROUP = "团购一群 13812345678"


async def test_facts_agree_with_the_results_post_and_the_report(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=10, a2=5))
    await shop.open()
    await shop.say("A1 2", "alice")
    await shop.say("A2 5", "bob", group=G2)  # A2 sells out
    await shop.say("A1 1", "carol", group=G2)
    live = poster_facts(shop.app.services, "t1")
    assert not live.closed and live.at == clock.now()
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    facts = poster_facts(shop.app.services, "t1")
    store = shop.sell.store
    total = compute_results(store.orders("t1"), store.stock("t1"))
    assert (facts.gmv_cents, facts.units, facts.orders, facts.buyers) == (
        total.gmv_cents,
        total.items,
        total.orders,
        total.buyers,
    )
    assert facts.closed and facts.at == CLOSES and facts.groups == 2
    assert facts.sold_out == ("赣南脐橙",) and facts.sell_through == total.sell_through
    report = build_report(
        shop.app.services.repo.engine, "t1", [G1, G2], {G1: G1, G2: G2}, OPENS - timedelta(days=1), CLOSES
    )
    by_report = {row.group: (round(row.gmv_yuan * 100), row.units, row.buyers) for row in report.rows}
    assert [(g.name, g.gmv_cents, g.units, g.buyers) for g in facts.top_groups] == [
        (G2, *by_report[G2]),
        (G1, *by_report[G1]),
    ]


async def test_names_are_masked_as_in_a_group_post(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice")
    await shop.say("A1 1", "bob", group=G2)
    shop.app.services.repo.note_group_name(G1, PHONE_GROUP)  # the group renamed to carry a phone number
    facts = poster_facts(shop.app.services, "t1")
    names = [g.name for g in facts.top_groups]
    assert names == ["团购一群 138****5678", G2]
    assert facts.title == "测试鲜果团"  # the campaign's own words stay readable


def test_an_unknown_campaign_is_a_lookup_error(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    with pytest.raises(LookupError):
        poster_facts(shop.app.services, "nosuch")
