"""Who is asking: the session cookie (from a `/board` link or the admin login) turned into a scope.

Every page and API answer starts here. No cookie, an altered one or an expired one is a 403
that says what to do (send /board again, or log in with the admin token); the words are in
`templates/board/denied.j2`. A campaign outside the viewer's groups is a 404, the same as
one that does not exist, so a leader cannot probe another leader's campaign ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from bot.campaign import Campaign
from handlers.board.links import Denied, Grant
from handlers.board.scope import Scope, campaign_groups, scope_of

if TYPE_CHECKING:
    from handlers.board.service import Board

COOKIE = "tuanbot_board"
LINK, ADMIN = "l", "a"  # the cookie says which kind of signed value it holds
NO_GROUPS = "nogroups"
ADMIN_ONLY = "admin"
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


@dataclass(frozen=True)
class Viewer:
    scope: Scope
    grant: Grant


def board_of_request(request: Request) -> Board:
    board: Board = request.app.state.board
    return board


def cookie_value(kind: str, token: str) -> str:
    return f"{kind}.{token}"


def grant_of(request: Request) -> Grant | Denied:
    """The signed grant the request carries: the cookie, or an admin token as a Bearer header."""
    board = board_of_request(request)
    links = board.links
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        if links.admin_token_ok(header[7:].strip()):
            return Grant("", None, True, float("inf"))
        return Denied("invalid")
    kind, _, token = request.cookies.get(COOKIE, "").partition(".")
    if not token:
        return Denied("missing")
    if kind == ADMIN:
        return links.check_admin(token)
    if kind == LINK:
        return links.check_link(token)
    return Denied("invalid")


def viewer_of(request: Request) -> Viewer | str:
    """The viewer, or why not: expired, invalid, missing, nogroups."""
    grant = grant_of(request)
    if isinstance(grant, Denied):
        return grant.reason
    scope = scope_of(board_of_request(request).services, grant)
    return NO_GROUPS if scope is None else Viewer(scope, grant)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def viewer_or_denied(request: Request) -> Viewer | Response:
    """The viewer, or the refusal to send back (every page and API answer starts here)."""
    viewer = viewer_of(request)
    if isinstance(viewer, str):
        return await denied(request, viewer)
    return viewer


async def denied(request: Request, reason: str, status: int = 403) -> Response:
    """The refusal, in Chinese, with what to do; JSON for the API. 404 for `not_found`."""
    board = board_of_request(request)
    status = 404 if reason == "not_found" else status
    message = await board.run(board.render, "board/denied.j2", {"reason": reason})
    if wants_json(request):
        return JSONResponse({"error": reason, "message": message}, status_code=status)
    html = await board.run(
        board.render,
        "board/denied.html.j2",
        {"reason": reason, "message": message, "admin_login": bool(board.settings.admin_token)},
    )
    response = HTMLResponse(html, status_code=status)
    if reason in ("expired", "invalid"):
        response.delete_cookie(COOKIE)
    return response


def campaign_in_scope(board: Board, scope: Scope, campaign_id: str) -> tuple[Campaign, list[str]] | None:
    """The loaded campaign and the viewer's groups in it; None if it is not loaded or not theirs."""
    loaded = board.services.campaigns.campaigns.get(campaign_id)
    if loaded is None:
        return None
    groups = campaign_groups(board.services, loaded.campaign, scope)
    return (loaded.campaign, groups) if groups else None


class SecurityHeaders:
    """Adds the board's security headers to every response (pure ASGI: streams stay streams)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


__all__ = [
    "ADMIN",
    "COOKIE",
    "LINK",
    "SecurityHeaders",
    "Viewer",
    "campaign_in_scope",
    "cookie_value",
    "denied",
    "viewer_of",
]
