"""The growth loops' figures reach /stats and `tuanbot report` through `FeatureFigures`, each named."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from bot.feature import FeatureFigures
from handlers.gifts.book import POINTS_REASON as GIFT
from handlers.lottery.prizes import POINTS_REASON as LOTTERY
from handlers.monitoring.report import build_report
from handlers.points.orders import REASON as ORDER
from handlers.referral.payout import POINTS_REASON as REFERRAL
from handlers.showoff.store import POINTS_REASON as SHOWOFF
from handlers.stars.award import POINTS_REASON as STAR
from tests.commerce.selling_kit import build_shop
from tests.fakes import FakeClock
from tests.gifts.kit import G1, G2, text_with


async def test_every_figure_of_every_feature_has_a_chinese_label(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=text_with())
    services = shop.app.services
    keys = set(services.get(FeatureFigures).collect(services.repo.engine, "t1", None))
    keys |= {f"points_earned_{reason}" for reason in (ORDER, SHOWOFF, LOTTERY, REFERRAL, GIFT, STAR)}
    assert {"gifts_given", "invites_credited", "points_redeemed", "reopen_units", "star_points"} <= keys
    text = services.renderer.render("monitor/growth_figures.j2", growth=dict.fromkeys(sorted(keys), 1))
    unnamed = [key for key in keys if key in text]
    assert not unnamed, f"figures without a label in templates/monitor/growth_figures.j2: {unnamed}"
    assert services.renderer.render("monitor/growth_figures.j2", growth=dict.fromkeys(keys, 0)).strip() == ""


async def test_stats_and_the_report_show_a_loops_figures(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=text_with())
    await shop.open()
    for member, group in [("a", G1), ("b", G2), ("c", G1), ("d", G1)]:
        await shop.say("A1 1", member, group)
    shop.transport.clear()
    await shop.say("/stats", "lily", G1)
    [text] = shop.transport.private_texts("lily")
    assert "🌱 增长数据" in text and "前N名赠礼·已送：2" in text  # a and c ordered in lily's group
    assert "邀请" not in text  # a loop with nothing to show says nothing
    assert "\n\n\n" not in text  # one blank line between sections, none owed to a missing one
    engine = shop.app.services.repo.engine
    growth = shop.app.services.get(FeatureFigures).collect(engine, "t1", None)
    report = build_report(
        engine,
        "t1",
        [G1, G2],
        {},
        clock.now() - timedelta(days=2),
        clock.now() + timedelta(seconds=1),
        growth=growth,
    )
    assert json.loads(report.to_json())["growth"]["gifts_given"] == 3
