"""The board's web app: routes, static files and headers, over one `Board`.

Paths (docs/board.md has each with what it answers):

    /l/<token>                 open a /board link (sets the session cookie)
    /login  /logout            the admin token login
    /                          the viewer's campaigns
    /c/<id>                    live page          /api/c/<id>/live, /api/c/<id>/stream (SSE)
    /c/<id>/groups             groups page        /api/c/<id>/groups
    /c/<id>/results            results page       /api/c/<id>/results, /c/<id>/results.csv, /c/<id>/poster.png
    /admin                     admin page         /api/admin
    /api/me                    who the session is, and its campaigns
    /healthz                   "ok" (no session needed: for whoever waits for the server)
    /t/<code>                  a broadcast's tracking link (no session; handlers/broadcast/clicks.py)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from handlers.board import api, pages
from handlers.board.access import SecurityHeaders

if TYPE_CHECKING:
    from handlers.board.service import Board


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def static_dir(board: Board) -> str:
    """The page's CSS and script live with its templates (`templates/board/static/`)."""
    return str(board.services.renderer.template_dir / "board" / "static")


def build_web(board: Board) -> Starlette:
    """The ASGI app serving `board`."""
    routes = [
        Route("/healthz", healthz),
        Route("/l/{token}", pages.open_link),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST", "GET"]),
        Route("/", pages.home),
        Route("/admin", pages.admin_page),
        Route("/c/{campaign_id}", pages.live_page),
        Route("/c/{campaign_id}/groups", pages.groups_page),
        Route("/c/{campaign_id}/results", pages.results_page),
        Route("/c/{campaign_id}/results.csv", api.results_csv),
        Route("/c/{campaign_id}/poster.png", api.poster),
        Route("/api/me", api.me),
        Route("/api/admin", api.admin),
        Route("/api/c/{campaign_id}/live", api.live),
        Route("/api/c/{campaign_id}/stream", api.stream),
        Route("/api/c/{campaign_id}/groups", api.groups),
        Route("/api/c/{campaign_id}/results", api.results),
        *board.public_routes,
        Mount("/static", StaticFiles(directory=static_dir(board)), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
    app.state.board = board
    return app


__all__ = ["build_web"]
