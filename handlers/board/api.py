"""The board's JSON API and its live stream (server-sent events).

The JSON carries raw values: money in fen (`*_cents`), percentages as numbers, times in ISO
8601 with their offset. The stream sends the live page's parts (rendered HTML, by name) as
they change, checked every `web.refresh_seconds`; it re-checks the viewer every
`RECHECK_SECONDS`, so an expired link or a removed leader stops it (`event: expired`) within
seconds, without a role lookup per tick per phone. Endpoints: docs/board.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from handlers.board.access import Viewer, board_of_request, denied, viewer_of, viewer_or_denied
from handlers.board.present import admin_for, csv_for, groups_for, live_for, results_for, sections_for
from handlers.board.scope import visible_campaigns
from handlers.board.views import jsonable

if TYPE_CHECKING:
    from handlers.board.service import Board

KEEP_ALIVE_SECONDS = 15.0
RECHECK_SECONDS = 10.0  # an open stream checks its link and the viewer's groups this often
RETRY_MS = 3000


async def me(request: Request) -> Response:
    viewer = await viewer_or_denied(request)
    if isinstance(viewer, Response):
        return viewer
    board = board_of_request(request)
    scope = viewer.scope
    campaigns = visible_campaigns(board.services, scope)
    return JSONResponse(
        {
            "member_id": scope.member_id,
            "admin": scope.admin_session,
            "all_groups": scope.everything,
            "groups": None if scope.groups is None else sorted(scope.groups),
            "campaigns": [{"id": c.id, "title": c.title} for c in campaigns],
            "expires_in_seconds": None
            if viewer.grant.expires_at == float("inf")
            else board.links.seconds_left(viewer.grant),
        }
    )


Maker = Callable[["Board", Any, str], Awaitable[Any]]


async def _campaign_json(request: Request, make: Maker) -> Response:
    viewer = await viewer_or_denied(request)
    if isinstance(viewer, Response):
        return viewer
    view = await make(board_of_request(request), viewer.scope, request.path_params["campaign_id"])
    if view is None:
        return await denied(request, "not_found")
    return JSONResponse(jsonable(view))


async def live(request: Request) -> Response:
    return await _campaign_json(request, live_for)


async def groups(request: Request) -> Response:
    return await _campaign_json(request, groups_for)


async def results(request: Request) -> Response:
    return await _campaign_json(request, results_for)


async def results_csv(request: Request) -> Response:
    viewer = await viewer_or_denied(request)
    if isinstance(viewer, Response):
        return viewer
    campaign_id = request.path_params["campaign_id"]
    text = await csv_for(board_of_request(request), viewer.scope, campaign_id)
    if text is None:
        return await denied(request, "not_found")
    return Response(
        "\ufeff" + text,  # a byte-order mark, so spreadsheet programs read the Chinese right
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{campaign_id}-report.csv"'},
    )


async def poster(request: Request) -> Response:
    """The results poster, when a renderer is wired (`Board.poster`); else 404."""
    viewer = await viewer_or_denied(request)
    if isinstance(viewer, Response):
        return viewer
    board = board_of_request(request)
    campaign_id = request.path_params["campaign_id"]
    found = board.services.campaigns.campaigns.get(campaign_id)
    groups_seen = viewer.scope.keep(board.services.campaigns.groups_of(found.campaign)) if found else []
    png = await board.poster(campaign_id, groups_seen) if board.poster is not None and groups_seen else None
    if png is None:
        return await denied(request, "not_found")
    return Response(png, media_type="image/png")


async def admin(request: Request) -> Response:
    viewer = await viewer_or_denied(request)
    if isinstance(viewer, Response):
        return viewer
    if not viewer.scope.admin_session:
        return await denied(request, "admin")
    return JSONResponse(jsonable(await admin_for(board_of_request(request))))


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def stream(request: Request) -> Response:
    """`text/event-stream`: `figures` events with the changed parts, until the viewer's access ends."""
    viewer = await viewer_or_denied(request)
    if isinstance(viewer, Response):
        return viewer
    board = board_of_request(request)
    campaign_id = request.path_params["campaign_id"]
    first = await sections_for(board, viewer.scope, campaign_id)
    if first is None:
        return await denied(request, "not_found")
    return StreamingResponse(
        _events(request, board, viewer, campaign_id, first),
        media_type="text/event-stream",
        headers={"x-accel-buffering": "no"},
    )


async def _events(
    request: Request, board: Board, viewer: Viewer, campaign_id: str, payload: dict[str, Any] | None
) -> AsyncIterator[str]:
    board.streams += 1
    sent: dict[str, str] = {}
    last_write = checked = time.monotonic()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        while not board.closing.is_set():
            if payload is None:
                yield _event("gone", {})
                return
            changed = {k: html for k, html in payload["sections"].items() if sent.get(k) != html}
            if changed:
                sent.update(changed)
                yield _event("figures", {"seq": payload["seq"], "sections": changed})
                last_write = time.monotonic()
            elif time.monotonic() - last_write >= KEEP_ALIVE_SECONDS:
                yield ": keep-alive\n\n"
                last_write = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(board.closing.wait(), timeout=board.settings.refresh_seconds)
            if time.monotonic() - checked >= RECHECK_SECONDS:  # the link's age and the roles, again
                checked = time.monotonic()
                again = viewer_of(request)
                if isinstance(again, str):
                    yield _event("expired", {"reason": again})
                    return
                viewer = again
            payload = await sections_for(board, viewer.scope, campaign_id)
    finally:
        board.streams -= 1


__all__ = ["admin", "groups", "live", "me", "poster", "results", "results_csv", "stream"]
