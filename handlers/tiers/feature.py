"""Member tiers (会员等级, issue 17): tiers declared in config.yaml (`tiers:`), recomputed at each
close from the orders, with their perks handed to selling through `MemberPerks` (docs/growth.md)."""

from loguru import logger

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.selling.perks import MemberPerks
from handlers.tiers import chat, closing, figures
from handlers.tiers.book import TierBook
from handlers.tiers.shared import TiersShared
from handlers.tiers.store import has_counted_orders, stored


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Load the book (one read of `member_tiers`, at build time like the outbox) and offer it to
    selling. No recompute here: start-up stays one read, however many orders there are."""
    settings, engine = services.config.tiers, services.repo.engine
    if not settings.active:
        return
    book = services.provide(TierBook(settings, services.clock))
    services.provide(book, MemberPerks)
    rows = stored(engine)
    book.load(rows)
    # Recomputes other account processes commit (the scheduler's closes): followed once a second.
    services.shared_state.append(TiersShared(engine, book, services.clock.now()))
    if not rows and has_counted_orders(engine):
        logger.info(
            "tiers: no member has a tier yet but closed sales have orders: "
            "an admin's /tiers recompute counts them now (each close counts its own buyers)"
        )


FEATURE = Feature(
    "tiers", modules=(chat,), node_hooks=closing.NODE_HOOKS, setup=setup, figures=figures.figures
)
