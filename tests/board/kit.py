"""A sale in two groups (lily leads 团购一群, mike leads 团购二群, admin is the admin), its board,
and HTTP helpers: an httpx client on the board's ASGI app, and one on a real server."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bot.privacy import MOBILE_RE
from handlers.board.service import Board, board_of
from handlers.board.web import build_web
from tests.commerce.selling_kit import G1, G2, OPENS, Shop, build_shop
from tests.conftest import make_config
from tests.fakes import FakeClock, FakeTransport

__all__ = ["ADMIN_TOKEN", "G1", "G2", "HeldTransport", "board_shop", "client", "figure", "sse_events"]

ADMIN_TOKEN = "board-admin-token-for-tests"
SECRET = "board-secret-for-tests"


def board_config(tmp_path: Path, **web: Any) -> Any:
    settings = {"admin_token": ADMIN_TOKEN, "secret": SECRET, "refresh_seconds": 0.05, **web}
    return make_config(tmp_path, web=settings)


def board_shop(tmp_path: Path, clock: FakeClock, opens: datetime = OPENS, **web: Any) -> tuple[Shop, Board]:
    """The selling kit's sale (campaign t1 in both groups) with the board's settings; a test that
    runs the app (`App.run`, its scheduler on the real clock) passes `opens=FAR_OPENS`."""
    shop = build_shop(tmp_path, clock, config=board_config(tmp_path, **web), opens=opens)
    return shop, board_of(shop.app.services)


def client(board: Board, base_url: str = "http://board.test", **kwargs: Any) -> httpx.AsyncClient:
    """A client on the board's ASGI app (no server, no port)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=build_web(board)), base_url=base_url, **kwargs)


async def open_link(http: httpx.AsyncClient, link: str) -> httpx.Response:
    """Open a /board link as a phone would: the path of the link, keeping the cookie it sets."""
    return await http.get(link[link.index("/l/") :])


def figure(html: str, name: str) -> int | None:
    """The raw value behind a `data-figure` hook in rendered HTML."""
    found = re.search(rf'data-figure="{name}" data-value="([0-9.]+)"', html)
    return None if found is None else int(float(found.group(1)))


def unmasked_phones(text: str) -> list[str]:
    """Mobile numbers written out in full (a masked one, 138****5678, does not match)."""
    return [m.group(0) for m in MOBILE_RE.finditer(text)]


class HeldTransport(FakeTransport):
    """The fake transport, but `start` holds the app running until `stop`; `running` is set once the
    app's start steps (the board's among them) are done."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.running = asyncio.Event()
        self.stopped = asyncio.Event()

    async def start(self, sink: Any) -> None:
        self.running.set()
        await self.stopped.wait()

    async def stop(self) -> None:
        self.stopped.set()


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event name, parsed data) from a text/event-stream response."""
    name, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "" and data:
            yield name, json.loads(data)
            name, data = "message", ""


__all__ += ["open_link", "unmasked_phones"]
