"""The composition root: features declared once, services found by type, one schema."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlmodel import SQLModel

from bot.app import App
from bot.campaign.runtime import CampaignRuntime
from bot.context import Services
from bot.feature import Feature, Lifecycle, node_kinds
from bot.schema import all_tables
from handlers.features import FEATURES
from handlers.monitoring.monitor import CampaignMonitor
from handlers.selling.discounts import wallet_of
from tests.bot import feature_probe
from tests.conftest import AppFactory, make_config
from tests.fakes import FakeClock


def test_every_table_is_listed_in_the_schema_module() -> None:
    """Storage knows no feature, so `bot.schema` must name every table the features declare."""
    import handlers.features  # noqa: F401  (every feature, and so every table, imported)

    assert {t.name for t in all_tables()} == set(SQLModel.metadata.tables)


def test_two_features_claiming_one_node_kind_is_a_wiring_mistake() -> None:
    def runner(run: object) -> list[object]:
        return []

    first = Feature("first", node_runners={"open": runner})  # type: ignore[dict-item]
    second = Feature("second", node_runners={"open": runner})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="'open' posted by two features: first and second"):
        node_kinds([first, second])


def test_the_shipped_features_post_every_node_kind() -> None:
    from bot.campaign import KINDS
    from bot.campaign.nodes import DEFAULT_RUNNERS

    runners, hooks = node_kinds(FEATURES)
    assert set(KINDS) <= set(runners) | set(DEFAULT_RUNNERS)
    assert "close" in hooks and "open" in hooks  # effects after the claim (settle, seed stock)


def test_services_are_found_by_type_and_the_runtime_is_never_none(make_app: AppFactory) -> None:
    app, _ = make_app()
    services = app.services
    assert isinstance(services.campaigns, CampaignRuntime)
    assert not services.campaigns.running  # no scheduler attached: nothing is timed yet
    assert services.campaigns.campaigns == {}
    assert isinstance(services.get(CampaignMonitor), CampaignMonitor)
    assert wallet_of(services) is not None  # the coupons feature provides the wallet

    class Missing:
        pass

    assert services.find(Missing) is None
    with pytest.raises(LookupError, match="no Missing service"):
        services.get(Missing)
    made = services.get_or_make(Missing, Missing)
    assert services.get_or_make(Missing, Missing) is made


def test_without_the_coupons_feature_pricing_has_no_wallet(make_app: AppFactory) -> None:
    app, _ = make_app([f for f in FEATURES if f.name != "coupons"])
    assert wallet_of(app.services) is None


async def test_a_feature_setup_registers_services_and_start_steps(tmp_path, clock: FakeClock) -> None:
    started: list[str] = []

    class Counter:
        def __init__(self) -> None:
            self.seen = 0

    def setup(services: Services, lifecycle: Lifecycle) -> None:
        services.provide(Counter())
        lifecycle.on_start(lambda: started.append("probe"))

    probe = Feature("probe", modules=(feature_probe,), setup=setup)
    app = App.build(make_config(tmp_path), clock=clock, features=[probe], rng=random.Random(1))
    assert isinstance(app.services.get(Counter), Counter)
    assert started == []  # steps run when the app starts, not when it is built

    class OneShot:
        name = "one-shot"

        def __init__(self) -> None:
            self.sent: list[object] = []

        async def start(self, sink: object) -> None:
            return None

        async def send(self, message: object) -> None:
            self.sent.append(message)

        async def stop(self) -> None:
            return None

    await asyncio.wait_for(app.run(OneShot(), drain_seconds=0), timeout=30)  # type: ignore[arg-type]
    assert started == ["probe"]
