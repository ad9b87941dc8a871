"""The live web board (issue 19): `/board` links, and the board served on the bot's loop.

The board is made at build (nothing read, no socket); with `web.enabled` it starts with the
app and stops with it (`start_board`, `stop_board`). A taken port leaves the bot running
without it. docs/board.md says what it shows and what it costs.
"""

import asyncio
from collections.abc import Awaitable, Callable

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.board import chat
from handlers.board.server import start_board, stop_board
from handlers.board.service import Board
from handlers.poster.facts import poster_facts
from handlers.poster.render import render_poster


def poster_maker(services: Services) -> Callable[[str, list[str]], Awaitable[bytes | None]]:
    """The results page's poster: the viewer's groups only, drawn off the loop (~0.15 s)."""

    def draw(campaign_id: str, groups: list[str]) -> bytes | None:
        facts = poster_facts(services, campaign_id, groups)
        return render_poster(facts, renderer=services.renderer).png if facts.buyers else None

    async def poster(campaign_id: str, groups: list[str]) -> bytes | None:
        return await asyncio.to_thread(draw, campaign_id, groups)

    return poster


def setup(services: Services, lifecycle: Lifecycle) -> None:
    board = services.provide(Board(services))
    board.poster = poster_maker(services)
    if services.config.web.enabled:
        lifecycle.on_start(lambda: start_board(board))
        lifecycle.on_stop(lambda: stop_board(board))


FEATURE = Feature("board", modules=(chat,), setup=setup)
