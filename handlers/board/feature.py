"""The live web board (issue 19): `/board` links, and the board served on the bot's loop.

The board is made at build (nothing read, no socket); with `web.enabled` it starts with the
app and stops with it (`start_board`, `stop_board`). A taken port leaves the bot running
without it. docs/board.md says what it shows and what it costs.
"""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.board import chat
from handlers.board.server import start_board, stop_board
from handlers.board.service import Board


def setup(services: Services, lifecycle: Lifecycle) -> None:
    board = services.provide(Board(services))
    if services.config.web.enabled:
        lifecycle.on_start(lambda: start_board(board))
        lifecycle.on_stop(lambda: stop_board(board))


FEATURE = Feature("board", modules=(chat,), setup=setup)
