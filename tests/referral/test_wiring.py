"""推荐有礼 is wired into the app: listed after points (it pays through the ledger), its close
hook registered, its tables in the schema, its figures offered to /stats, and `tuanbot member
forget` drops a forgotten member's invites."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, select

from bot.feature import FeatureFigures, node_kinds
from bot.member_data import forget
from bot.schema import TABLE_MODULES
from handlers.features import FEATURES
from handlers.referral import tables
from handlers.referral.closing import hook_close
from handlers.referral.tables import INVITES
from tests.fakes import FakeClock
from tests.referral.kit import join, shop_of


def test_the_feature_is_listed_after_points_and_hooks_the_close() -> None:
    assert tables in TABLE_MODULES
    names = [f.name for f in FEATURES]
    assert "referral" in names and names.index("referral") > names.index("points")
    assert names.index("referral") > names.index("selling")  # orders are closed when it decides
    _, hooks = node_kinds(FEATURES)
    assert hook_close in hooks["close"]


async def test_its_tables_exist_and_its_figures_are_collected(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_of(tmp_path, clock)
    engine = shop.app.services.repo.engine
    assert {"referral_invites", "referral_codes", "referral_payouts"} <= set(
        inspect(engine).get_table_names()
    )
    await join(shop, "nina", by="alice")
    collected = shop.app.services.get(FeatureFigures).collect(engine, "t1", None)
    assert collected["invites_joined"] == 1 and collected["invites_credited"] == 0


async def test_forget_drops_the_members_invites_and_names(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_of(tmp_path, clock)
    await join(shop, "nina", by="alice")
    await join(shop, "omar", by="nina")
    engine = shop.app.services.repo.engine
    forget(engine, "nina", pseudonym="forgotten-test")
    with engine.connect() as conn:
        rows = conn.execute(select(INVITES.c.member_id, INVITES.c.by_id, INVITES.c.member_name)).all()
    assert all("nina" not in tuple(r) for r in rows)
