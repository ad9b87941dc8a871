"""The board's per-app state: its settings, links, live figures, worker thread and server.

Made at app build (cheap: nothing is read, no file or socket is touched); the secret is read
or made on first use, the thread on first page, the server only when `web.enabled` and the app
starts (`handlers.board.server.start_board`, a step of the feature). `tuanbot web` builds one
over a read-only set of services (`handlers.board.reader`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.routing import BaseRoute

from bot.config import WebSettings
from bot.context import Services
from bot.templates import Renderer
from handlers.board.links import Links
from handlers.board.live import LiveFigures

if TYPE_CHECKING:
    from handlers.board.server import BoardServer

T = TypeVar("T")


class Board:
    """One app's board. `read_only`: served by `tuanbot web` beside (not inside) the bot."""

    def __init__(self, services: Services, *, read_only: bool = False) -> None:
        self.services = services
        self.read_only = read_only
        self.settings: WebSettings = services.config.web
        self.live = LiveFigures(services, self.run, self.settings.refresh_seconds)
        self.closing = asyncio.Event()
        self.streams = 0  # open live streams (the admin page shows it)
        self.server: BoardServer | None = None
        self._links: Links | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._renderer: Renderer | None = None
        # The results page's poster (`/c/<id>/poster.png`): set by whoever renders posters, as
        # `async (campaign_id, group_ids) -> PNG bytes or None`; until then the route says 404.
        self.poster: Callable[[str, list[str]], Awaitable[bytes | None]] | None = None
        # Routes other features serve on the board with no session (a broadcast's tracking link,
        # handlers/broadcast/clicks.py): added at setup, before the server starts.
        self.public_routes: list[BaseRoute] = []

    # -- links ------------------------------------------------------------------------------
    @property
    def links(self) -> Links:
        if self._links is None:
            self._links = Links.from_config(self.services.config)
        return self._links

    def use_links(self, links: Links) -> None:
        """Sign with these (tests: a clock in the past)."""
        self._links = links

    @property
    def base_url(self) -> str:
        """Where links point: `web.public_url`, else the running server's address, else the config's."""
        return base_url(self.settings, self.server.port if self.server is not None else 0)

    def link_for(self, member_id: str, groups: list[str] | None) -> str:
        """A signed link for `member_id` over `groups` (None: all groups)."""
        return f"{self.base_url}/l/{self.links.mint(member_id, groups)}"

    # -- pages ---------------------------------------------------------------------------------
    def render(self, template: str, variables: dict[str, Any]) -> str:
        """A page or a fragment (call it in the board's thread, through `run`).

        The board renders with its own `Renderer` over the app's templates: the same sandbox,
        filters and files, but caches only the board's thread touches (the chat's renderer is
        used on the event loop at the same time)."""
        if self._renderer is None:
            app_renderer = self.services.renderer
            self._renderer = Renderer(app_renderer.template_dir, timezone=self.services.config.bot.timezone)
        return self._renderer.render(template, **variables)

    # -- the board's thread ---------------------------------------------------------------------
    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """`func(*args)` in the board's one worker thread: every database read and render of pages.

        One thread, so the board never takes more than one of the loop's helpers and its reads
        queue behind each other instead of piling onto the database.
        """
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="board")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(func, *args))

    def close(self) -> None:
        """End the live streams and let the worker thread go."""
        self.closing.set()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def base_url(settings: WebSettings, bound_port: int = 0) -> str:
    """`web.public_url`, else http://host:port (the port actually bound, when one is)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{_host(settings.host)}:{bound_port or settings.port}"


def _host(host: str) -> str:
    """A host for a URL: the wildcard addresses are reached as localhost; IPv6 in brackets."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def board_of(services: Services) -> Board:
    """The app's board (made by the feature's setup; on first use where a test builds without it)."""
    return services.get_or_make(Board, lambda: Board(services))


__all__ = ["Board", "base_url", "board_of"]
