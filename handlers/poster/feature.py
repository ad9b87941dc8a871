"""The results poster (战绩海报, issue 19): a picture of a campaign's results, sent to every group
at close (riding the close's ledger claim) and on `/poster`; `render_poster` and `poster_facts`
are what the board's results page calls."""

import asyncio

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.poster import chat, closing, fonts


async def warm_up() -> None:
    """Start-up hook: read the font's character map (about half a second) now, in a thread, rather
    than in the first close's transaction."""
    await asyncio.to_thread(fonts.warm)


def setup(services: Services, lifecycle: Lifecycle) -> None:
    lifecycle.on_start(warm_up)


FEATURE = Feature("poster", modules=(chat,), node_hooks=closing.NODE_HOOKS, setup=setup)
