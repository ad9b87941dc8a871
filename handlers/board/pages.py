"""The board's HTML pages: opening a link, the admin login, and the four pages.

Every page is a template under `templates/board/`, rendered in the board's thread; every
figure on it carries a `data-*` hook (docs/board.md) that the live script and the browser
tests read.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.storage.timeline_store import TimelineStore
from handlers.board.access import (
    ADMIN,
    COOKIE,
    LINK,
    board_of_request,
    cookie_value,
    denied,
    viewer_or_denied,
)
from handlers.board.links import ADMIN_SESSION_MINUTES, Denied
from handlers.board.present import admin_for, groups_for, live_for, results_for
from handlers.board.scope import scope_of, visible_campaigns
from handlers.board.timeline import campaign_state

LOGIN_BODY_LIMIT = 4096
WRONG_TOKEN_PAUSE = 0.5  # seconds, so guessing the admin token is slow


async def _page(request: Request, template: str, status: int = 200, **variables: Any) -> Response:
    board = board_of_request(request)
    html = await board.run(board.render, template, variables)
    return HTMLResponse(html, status_code=status)


def _set_session(request: Request, response: Response, value: str, seconds: int) -> None:
    secure = board_of_request(request).settings.public_url.startswith("https://")
    response.set_cookie(COOKIE, value, max_age=seconds, httponly=True, samesite="lax", secure=secure)


async def open_link(request: Request) -> Response:
    """`/l/<token>`: check the link, keep it as the session cookie, go to the board."""
    board = board_of_request(request)
    token = request.path_params["token"]
    grant = board.links.check_link(token)
    if isinstance(grant, Denied):
        return await denied(request, grant.reason)
    if scope_of(board.services, grant) is None:
        return await denied(request, "nogroups")
    response = RedirectResponse("/", status_code=303)
    _set_session(request, response, cookie_value(LINK, token), board.links.seconds_left(grant))
    return response


async def login_form(request: Request) -> Response:
    return await _page(
        request,
        "board/login.html.j2",
        failed=False,
        closed=not board_of_request(request).settings.admin_token,
    )


async def login(request: Request) -> Response:
    """The admin token typed in the form → a signed admin session (the token stays on the server)."""
    board = board_of_request(request)
    if int(request.headers.get("content-length") or 0) > LOGIN_BODY_LIMIT:
        return await denied(request, "invalid")
    body = (await request.body())[:LOGIN_BODY_LIMIT].decode("utf-8", "replace")
    typed = (parse_qs(body).get("token") or [""])[0].strip()
    if not board.links.admin_token_ok(typed):
        await asyncio.sleep(WRONG_TOKEN_PAUSE)
        return await _page(
            request, "board/login.html.j2", status=403, failed=True, closed=not board.settings.admin_token
        )
    response = RedirectResponse("/admin", status_code=303)
    _set_session(
        request, response, cookie_value(ADMIN, board.links.admin_session()), ADMIN_SESSION_MINUTES * 60
    )
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


async def home(request: Request) -> Response:
    viewer = await viewer_or_denied(request)
    if isinstance(viewer, Response):
        return viewer
    board = board_of_request(request)
    runtime = board.services.campaigns
    shown = [
        (campaign, viewer.scope.keep(runtime.groups_of(campaign)), *runtime.effective_times(campaign.id))
        for campaign in visible_campaigns(board.services, viewer.scope)
    ]
    store = TimelineStore(board.services.repo.engine)
    statuses = await board.run(lambda: [store.group_statuses(c.id) for c, *_ in shown])
    campaigns = [
        {
            "id": campaign.id,
            "title": campaign.title,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "groups": len(groups),
            "status": campaign_state(states, groups),
        }
        for (campaign, groups, opens_at, closes_at), states in zip(shown, statuses, strict=True)
    ]
    return await _page(request, "board/home.html.j2", campaigns=campaigns, admin=viewer.scope.admin_session)


async def _campaign_page(request: Request, template: str, make: Any) -> Response:
    viewer = await viewer_or_denied(request)
    if isinstance(viewer, Response):
        return viewer
    board = board_of_request(request)
    campaign_id = request.path_params["campaign_id"]
    view = await make(board, viewer.scope, campaign_id)
    if view is None:
        return await denied(request, "not_found")
    return await _page(request, template, v=view, campaign_id=campaign_id, admin=viewer.scope.admin_session)


async def live_page(request: Request) -> Response:
    return await _campaign_page(request, "board/live.html.j2", live_for)


async def groups_page(request: Request) -> Response:
    return await _campaign_page(request, "board/groups.html.j2", groups_for)


async def results_page(request: Request) -> Response:
    return await _campaign_page(request, "board/results.html.j2", results_for)


async def admin_page(request: Request) -> Response:
    viewer = await viewer_or_denied(request)
    if isinstance(viewer, Response):
        return viewer
    if not viewer.scope.admin_session:
        return await denied(request, "admin")
    view = await admin_for(board_of_request(request))
    return await _page(request, "board/admin.html.j2", v=view, admin=True)


__all__ = [
    "admin_page",
    "groups_page",
    "home",
    "live_page",
    "login",
    "login_form",
    "logout",
    "open_link",
    "results_page",
]
