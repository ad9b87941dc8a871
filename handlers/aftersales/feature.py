"""After-sales tickets (售后): complaints, the leader's answer, escalations at 2 h and 24 h, ratings."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.aftersales import chat, leader
from handlers.aftersales.matcher import RATING_WINDOW, state_of
from handlers.aftersales.shared import AftersalesShared
from handlers.aftersales.store import TicketStore


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Read who awaits a rating, in one query, so the private rating matcher never reads the database."""
    state = state_of(services)
    if not state.loaded:
        since = services.clock.now() - RATING_WINDOW
        state.awaiting = TicketStore(services.repo.engine).awaiting_ratings(since)
        state.loaded = True
    # Resolutions and ratings other account processes commit: followed once a second.
    services.shared_state.append(AftersalesShared(services, dict(state.awaiting)))


FEATURE = Feature("aftersales", modules=(chat, leader), setup=setup)
