"""晒单有礼 is wired into the app: its feature is listed, its tables are in the schema, and
`tuanbot member forget` keeps a paid reward under a pseudonym without the member's name."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.member_data import forget
from bot.schema import TABLE_MODULES, all_tables
from handlers.features import FEATURES
from handlers.showoff import tables
from handlers.showoff.tables import ENTRIES
from tests.commerce.selling_kit import G1
from tests.fakes import FakeClock
from tests.showoff.kit import picture, sold_shop


def test_the_feature_is_listed_after_the_lottery_and_its_tables_are_created() -> None:
    names = [f.name for f in FEATURES]
    assert "showoff" in names and names.index("showoff") > names.index("lottery")
    assert tables in TABLE_MODULES
    assert {"showoff_entries", "showoff_counters"} <= {t.name for t in all_tables()}


async def test_forget_keeps_the_reward_under_a_pseudonym(tmp_path: Path, clock: FakeClock) -> None:
    shop = await sold_shop(tmp_path, clock, {"alice": G1})
    await picture(shop, "alice")
    engine = shop.app.services.repo.engine
    reports = {r.table: r for r in forget(engine, "alice", pseudonym="forgotten-test")}
    assert reports["showoff_entries"].pseudonymised == 1
    with engine.connect() as conn:
        rows = conn.execute(select(ENTRIES.c.member_id, ENTRIES.c.member_name, ENTRIES.c.rank)).all()
    assert [tuple(r) for r in rows] == [("forgotten-test", "", 1)]
