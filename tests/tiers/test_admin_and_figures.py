"""`/tiers recompute` (admins by id, answered privately, tells no member) and the tier figures for
/stats and `tuanbot report`; the feature is wired: listed after selling, tables in the schema."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from loguru import logger
from sqlalchemy import update

from bot.schema import TABLE_MODULES as TABLE_MODULES_AS_SHIPPED
from bot.schema import all_tables
from handlers.features import FEATURES
from handlers.tiers import tables
from handlers.tiers.book import TierBook
from handlers.tiers.figures import figures
from handlers.tiers.tables import TIERS
from tests.commerce.selling_kit import CLOSES, G1, G2
from tests.factories import private_message
from tests.fakes import FakeClock
from tests.tiers.conftest import SCHEMA_LISTS_TIERS
from tests.tiers.kit import SILVER, VIP, run_sale, tier_shop


@pytest.mark.xfail(
    not SCHEMA_LISTS_TIERS, reason="bot/schema.py does not list handlers.tiers.tables yet", strict=True
)
def test_the_feature_runs_after_selling_and_its_tables_are_created() -> None:
    """Without `handlers.tiers.tables` in bot/schema.py a real `tuanbot run` has no tier tables."""
    names = [f.name for f in FEATURES]
    assert names.index("tiers") > names.index("selling")  # its close hook sees the group closed
    assert tables in TABLE_MODULES_AS_SHIPPED
    assert {"member_tiers", "tier_promotions"} <= {t.name for t in all_tables()}


async def test_an_admin_recomputes_everyone_and_no_member_is_told(tmp_path: Path, clock: FakeClock) -> None:
    lenient = {"levels": [{**SILVER, "spend_yuan": 10}, VIP]}
    shop = tier_shop(tmp_path, clock, tiers={"levels": [SILVER, VIP]})
    await run_sale(shop, "t1", [("alice", "A1 3", G1), ("dave", "A1 1", G1)])
    assert shop.app.services.get(TierBook).perks("dave", "t1").tier == ""
    with shop.app.services.repo.engine.begin() as conn:  # a stale row: recompute lapses it
        conn.execute(update(TIERS).where(TIERS.c.member_id == "alice").values(tier="金卡"))

    again = tier_shop(tmp_path, clock, tiers=lenient)  # the config changed: 银卡 from ¥10
    clock.set(CLOSES + timedelta(hours=1))
    await again.say("/tiers recompute", "dave")  # a member: refused by the router, nothing recomputed
    assert again.texts(G1) == ["/tiers 仅限管理员使用。如需开通，请联系管理员。"]
    assert again.app.services.get(TierBook).perks("dave", "t1").tier == ""
    await again.transport.inject(private_message("/tiers recompute", "admin", at=clock.now()))
    answer = again.transport.private_texts("admin")[-1]
    assert "已按订单重算 2 位会员：升级 2 位" in answer and "· 银卡：2 人" in answer
    book = again.app.services.get(TierBook)
    assert book.perks("dave", "t1").tier == book.perks("alice", "t1").tier == "银卡"
    assert not any("恭喜升级" in t for m in ("alice", "dave") for t in again.transport.private_texts(m))
    assert len(again.texts(G1)) == 1  # only the refusal


async def test_figures_count_the_campaigns_tiered_buyers_and_promotions(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = tier_shop(tmp_path, clock)
    await run_sale(shop, "t1", [("alice", "A1 3", G1), ("bob", "A2 5", G2), ("dave", "A1 1", G1)])
    engine = shop.app.services.repo.engine
    assert figures(engine, "t1", None) == {
        "tier_members": 2,
        "tier_promoted_at_close": 2,
    }
    assert figures(engine, "t1", [G1]) == {
        "tier_members": 1,
        "tier_promoted_at_close": 1,
    }
    assert figures(engine, "other", None) == {"tier_members": 0, "tier_promoted_at_close": 0}


async def test_start_up_only_loads_and_says_when_history_is_not_counted_yet(
    tmp_path: Path, clock: FakeClock
) -> None:
    before = tier_shop(tmp_path, clock, tiers={})  # no tiers yet: a sale closes uncounted
    await run_sale(before, "t1", [("bob", "A2 5", G1)])
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    try:
        after = tier_shop(tmp_path, clock)  # tiers declared now: start-up recomputes nothing
    finally:
        logger.remove(sink)
    assert after.app.services.get(TierBook).perks("bob", "t1").tier == ""
    assert any("/tiers recompute counts them" in line for line in lines)
