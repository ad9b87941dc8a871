"""Scheduled multi-group broadcasts from chat (issue 18, single account): `/broadcast`, a private
preview, a salutation per group, a tracking code per group, list and cancel (docs/broadcast.md)."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.broadcast import chat, jobs
from handlers.broadcast.figures import figures
from handlers.broadcast.service import broadcasts_of


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Hold every live tracking code in memory from the start, so the reply matcher never queries;
    at start, make sure every pending broadcast has its job."""
    broadcasts_of(services).load_codes()
    lifecycle.on_start(lambda: jobs.reschedule_pending(services))


FEATURE = Feature("broadcast", modules=(chat,), setup=setup, figures=figures)
