"""A lottery people can check (issue 17): `/lottery` commits to a secret seed before the draw and
publishes it with the numbered list at the draw, so anyone can recompute the winners; prizes are
coupons of the campaign or points, paid once in the draw's transaction."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.lottery import chat
from handlers.lottery.actions import republish


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Posts queued before a restart still show the seed and commitment unmasked."""
    lifecycle.on_start(lambda: republish(services))


FEATURE = Feature("lottery", modules=(chat,), setup=setup)
