"""uvicorn serving the board on the bot's own event loop.

The socket is bound here, before uvicorn sees it: uvicorn answers a taken port with
`sys.exit`, which inside the bot's loop would stop the bot. Here a taken port is one clear
warning and the bot runs on without a board. uvicorn's signal handlers are left out too:
Ctrl-C and SIGTERM belong to the bot, which stops the board in its own shut-down.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from typing import TYPE_CHECKING

import uvicorn
from loguru import logger

from handlers.board.web import build_web

if TYPE_CHECKING:
    from handlers.board.service import Board

GRACEFUL_SECONDS = 3.0  # open live streams end when the board closes; this is the backstop


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers (the bot owns the process's signals)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); raises OSError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class BoardServer:
    """One uvicorn server task for one board."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> bool:
        settings = self.board.settings
        try:
            self._socket = bind(settings.host, settings.port)
        except OSError as exc:
            logger.bind(host=settings.host, port=settings.port).warning(
                "board: cannot listen on {}:{} ({}); the bot runs on without the web board. "
                "Free the port or set web.port (or TUANBOT_WEB_PORT) and restart",
                settings.host,
                settings.port,
                exc.strerror or exc,
            )
            return False
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            build_web(self.board),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=int(GRACEFUL_SECONDS),
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]), name="board-server")
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # uvicorn failed at start: raise what it raised
        logger.bind(port=self.port).info("board: serving on {}", self.board.base_url)
        return True

    async def stop(self) -> None:
        """Stop accepting, end the live streams, wait for uvicorn (bounded), release the port."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=GRACEFUL_SECONDS + 2)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        finally:
            if self._socket is not None:
                self._socket.close()
        logger.info("board: stopped")


async def start_board(board: Board) -> None:
    """Serve `board` on the running loop (the app's start step); a taken port leaves it unserved."""
    board.closing.clear()
    server = BoardServer(board)
    if await server.start():
        board.server = server


async def stop_board(board: Board) -> None:
    """End the live streams, stop the server, let the board's thread go (the app's stop step)."""
    board.closing.set()
    if board.server is not None:
        await board.server.stop()
        board.server = None
    board.close()


__all__ = ["BoardServer", "bind", "start_board", "stop_board"]
