"""活跃之星 (issue 17): a weekly title per group from orders, 晒单 and leaders' helpful marks,
announced in the group and paid in points once (docs/growth.md)."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.stars import chat, figures
from handlers.stars.jobs import schedule_weekly


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """At start, the weekly job is added to the persistent store (once: it keeps its id)."""
    lifecycle.on_start(lambda: schedule_weekly(services))


FEATURE = Feature("stars", modules=(chat,), setup=setup, figures=figures.figures)
