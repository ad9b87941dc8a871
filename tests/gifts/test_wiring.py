"""The gifts feature is wired in: listed after 晒单有礼, its step runs in the real writer's batches,
its figures reach /stats through `FeatureFigures`, and a campaign without gifts costs nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bot.feature import FeatureFigures
from handlers.features import FEATURES
from handlers.gifts.figures import figures
from handlers.gifts.service import gifts_of
from handlers.gifts.tables import COUNTERS, ENTRIES
from tests.commerce.selling_kit import build_shop, campaign_text
from tests.fakes import FakeClock
from tests.gifts.kit import G1, text_with


def test_the_feature_is_listed_after_showoff_with_its_figures() -> None:
    by_name = {f.name: f for f in FEATURES}
    names = list(by_name)
    assert names.index("gifts") > names.index("showoff") > names.index("selling")
    assert by_name["gifts"].figures is figures


async def test_its_figures_reach_stats_and_the_step_is_installed_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock, text=text_with())
    gifts = gifts_of(shop.app.services)
    assert gifts.installed and shop.sell.store.extensions.count(gifts.step) == 1
    gifts.install()  # a second call changes nothing
    assert shop.sell.store.extensions.count(gifts.step) == 1
    await shop.open()
    await shop.say("A1 1", "a", G1)
    collected = shop.app.services.get(FeatureFigures).collect(shop.app.services.repo.engine, "t1", [G1])
    assert {k: collected[k] for k in ("gifts_given", "gifts_passed", "gifts_left")} == {
        "gifts_given": 1,
        "gifts_passed": 0,
        "gifts_left": 2,
    }


async def test_a_campaign_without_gifts_writes_and_counts_nothing(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text())
    await shop.open()
    for member in ("a", "b"):
        await shop.say("A1 1", member, G1)
    engine = shop.app.services.repo.engine
    with engine.connect() as conn:
        rows = [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (ENTRIES, COUNTERS)]
    assert rows == [0, 0]
    assert figures(engine, "t1", None) == {"gifts_given": 0, "gifts_passed": 0, "gifts_left": 0}


async def test_a_switched_off_section_gives_nothing(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(
        tmp_path, clock, text=text_with(**{"gifts: {first: 3,": "gifts: {enabled: false, first: 3,"})
    )
    await shop.open()
    await shop.say("A1 1", "a", G1)
    assert figures(shop.app.services.repo.engine, "t1", None)["gifts_given"] == 0
    assert not any("获赠" in t for t in shop.transport.private_texts("a"))
