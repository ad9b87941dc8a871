"""The board's `/t/<code>` route: a group's tracking link redirects to the address and counts a click.

Public on purpose (members open it from the group, with no board session), so it answers only
what the link already says: a known code redirects (302) to its broadcast's address, anything
else is a bare 404 that does not tell a code that never existed from one cancelled. The lookup
is in memory (`Broadcasts.link`) and the click row is written behind
(`Services.write_behind`), so the board's event loop, which is the bot's, runs no database
statement for a click. Clicks count from the moment the broadcast is sent: the author trying
the link in the preview is not a click.
"""

from __future__ import annotations

from loguru import logger
from sqlalchemy import insert
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.context import Services
from bot.storage.rowops import RowOp
from handlers.board.service import Board
from handlers.broadcast.service import broadcasts_of
from handlers.broadcast.tables import CLICKS

MAX_CODE = 16  # longer is not one of ours: answer 404 before looking


def routes(services: Services) -> list[BaseRoute]:
    """`/t/CODE` (the first address) and `/t/CODE/N` (the N-th)."""

    async def follow(request: Request) -> Response:
        code = str(request.path_params["code"])
        n = int(request.path_params.get("n", 1))
        link = broadcasts_of(services).link(code, n) if len(code) <= MAX_CODE else None
        if link is None:
            return PlainTextResponse("not found", status_code=404)
        if link.sent:
            services.write_behind(
                RowOp(
                    insert(CLICKS),
                    {
                        "broadcast_id": link.broadcast_id,
                        "group_id": link.group_id,
                        "at": services.clock.now(),
                    },
                )
            )
        logger.bind(broadcast=link.broadcast_id, group=link.group_id).debug("broadcast link opened")
        return RedirectResponse(link.url, status_code=302)

    return [Route("/t/{code}", follow), Route("/t/{code}/{n:int}", follow)]


def serve_links(services: Services) -> None:
    """With the web board on: serve the links on it, and write them into posts."""
    board = services.find(Board)
    if board is None or not services.config.web.enabled:
        return
    board.public_routes.extend(routes(services))

    def base() -> str | None:
        # A link must lead somewhere: the public address, else the server actually running.
        if board.settings.public_url or board.server is not None:
            return board.base_url
        return None

    broadcasts_of(services).link_base = base


__all__ = ["MAX_CODE", "routes", "serve_links"]
