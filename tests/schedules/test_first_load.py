"""A relative-dated campaign's nodes that were due before its first load are skipped quietly.

The shipped sample opens 15 minutes after the bot first loads it, with a three-day preheat:
those preheat posts never could have run, and a newcomer's first screen must not be
"missed by …" warnings about them (issue 13.18). Openings still run; later nodes are scheduled.
"""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from bot.app import App
from bot.campaign.runtime import BEFORE_FIRST_LOAD, CampaignRuntime, job_id
from bot.startup import install_features
from tests.conftest import AppFactory
from tests.fakes import FakeClock

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "campaigns" / "sample.yaml"


def _registry(app: App) -> CampaignRuntime:
    registry = app.services.campaigns
    assert isinstance(registry, CampaignRuntime)
    return registry


def _loaded(make_app: AppFactory) -> tuple[CampaignRuntime, list[str]]:
    """An app with its features and campaign files loaded, and the warnings loading logged."""
    app, _ = make_app()
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING", format="{message}")
    try:
        install_features(app)
        registry = _registry(app)
        if not registry.campaigns:
            registry.load_all()
    finally:
        logger.remove(sink)
    return registry, warnings


async def test_the_sample_skips_its_past_preheat_quietly_and_schedules_the_rest(
    make_app: AppFactory,
    config,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    campaigns = Path(config.path(config.campaigns_dir))
    campaigns.mkdir(parents=True, exist_ok=True)
    (campaigns / "sample.yaml").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    registry, warnings = _loaded(make_app)
    [campaign_id] = registry.campaigns
    nodes = registry.campaigns[campaign_id].nodes
    preheats = [n for n in nodes if n.kind == "preheat" and n.fire_at < clock.now()]
    assert preheats, "the sample has preheat posts before its relative opening"
    states = {(n.node_id, g): (s, d) for n, g, s, d in registry.node_states(campaign_id)}
    for node in preheats:
        for group in registry.groups_of(registry.campaigns[campaign_id].campaign):
            assert states[(node.node_id, group)] == ("skipped", BEFORE_FIRST_LOAD)
    assert not [w for w in warnings if "missed" in w], warnings
    assert registry.scheduler is not None
    assert registry.scheduler.get_job(job_id(campaign_id, "open")) is not None
    assert all(registry.scheduler.get_job(job_id(campaign_id, n.node_id)) is None for n in preheats)


async def test_a_copy_of_the_sample_beside_it_is_warned_of_once(
    make_app: AppFactory,
    config,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    """The README's step 1 copies the sample; running both sells in the same groups at once
    (session 38's README walk). Both load (it may be meant), and the later file gets one warning."""
    campaigns = Path(config.path(config.campaigns_dir))
    campaigns.mkdir(parents=True, exist_ok=True)
    text = SAMPLE.read_text(encoding="utf-8")
    (campaigns / "my-first.yaml").write_text(
        text.replace("id: fruit-2026-12", "id: my-first"), encoding="utf-8"
    )
    (campaigns / "sample.yaml").write_text(text, encoding="utf-8")
    registry, warnings = _loaded(make_app)
    assert sorted(registry.campaigns) == ["fruit-2026-12", "my-first"]
    [warning] = [w for w in warnings if "sells in" in w]
    assert warning.startswith(f"{campaigns.resolve() / 'sample.yaml'}: warning: sells in 团购一群, 团购二群")
    assert "'my-first'" in warning
