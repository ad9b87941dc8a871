"""Welcomes for new members, batched, with a leader-editable template."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.welcome import chat
from handlers.welcome.leavers import Leavers
from handlers.welcome.rejoin import CHECKED_CACHE, Checked
from handlers.welcome.service import WelcomeStore


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Know every group's leavers before the first message: ONE read for all groups, so the
    rejoin matcher answers from memory and no group is read lazily on the message path."""
    leavers = services.provide(Leavers())
    leavers.load(WelcomeStore(services.repo.engine).all_rejoin_candidates(leavers.per_group + 1))
    services.provide(Checked(maxsize=CHECKED_CACHE))


FEATURE = Feature("welcome", modules=(chat,), setup=setup)
"""The welcome feature."""
