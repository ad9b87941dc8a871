"""Campaign health: the per-minute alert check against the documents' thresholds, and /stats."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.monitoring import stats
from handlers.monitoring.monitor import CampaignMonitor


def setup(services: Services, lifecycle: Lifecycle) -> None:
    services.provide(CampaignMonitor(services))


FEATURE = Feature("monitoring", modules=(stats,), setup=setup)
