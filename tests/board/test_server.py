"""The board on a real uvicorn, started and stopped by the app's lifecycle: the live stream delivers
new figures after an order, the board stops cleanly with a stream open, and a taken port leaves
the bot running without it."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from handlers.board import api
from handlers.board.links import Links
from tests.board.kit import G1, G2, SECRET, HeldTransport, board_shop, figure, sse_events
from tests.commerce.selling_kit import FAR_OPENS, Shop
from tests.fakes import FakeClock

WAIT = 15.0


async def _run(shop: Shop) -> tuple[HeldTransport, asyncio.Task[None]]:
    """Run the app (its start steps, the outbox, the board) until the transport is stopped."""
    transport = HeldTransport(shop.app, shop.clock)
    shop.transport = transport
    task = asyncio.create_task(shop.app.run(transport, drain_seconds=0))
    await asyncio.wait_for(transport.running.wait(), WAIT)
    return transport, task


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def test_the_stream_delivers_new_figures_and_the_board_stops_with_the_app(
    tmp_path: Path, clock: FakeClock, monkeypatch: Any
) -> None:
    monkeypatch.delenv("TUANBOT_WEB_ENABLED", raising=False)
    shop, board = board_shop(tmp_path, clock, opens=FAR_OPENS, enabled=True, port=0)
    await shop.open()
    await shop.say("A1 1", "alice", G1)
    transport, running = await _run(shop)
    assert board.server is not None
    port = board.server.port
    assert port > 0 and board.base_url == f"http://127.0.0.1:{port}"
    link = board.link_for("lily", [G1])
    async with httpx.AsyncClient(base_url=board.base_url, timeout=WAIT) as http:
        assert (await http.get("/healthz")).text == "ok"
        opened = await http.get(link[link.index("/l/") :])
        assert opened.status_code == 303
        async with http.stream("GET", "/api/c/t1/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = sse_events(stream)
            name, first = await asyncio.wait_for(anext(events), WAIT)
            assert name == "figures" and figure(first["sections"]["figures"], "gmv") == 1000
            assert set(first["sections"]) >= {"figures", "stock", "chart", "groups", "timeline", "alerts"}
            await transport.inject(shop.message("A1 2", "bob", G1), drain=False)  # a new order
            await transport.inject(shop.message("A2 1", "carol", G2), drain=False)  # not lily's group

            async def new_gmv() -> tuple[int | None, dict[str, Any]]:
                async for name, data in events:
                    if name == "figures" and "figures" in data["sections"]:
                        return figure(data["sections"]["figures"], "gmv"), data
                raise AssertionError("stream ended")

            gmv, update = await asyncio.wait_for(new_gmv(), WAIT)
            assert gmv == 3000  # lily's group only: carol's order in 团购二群 is not in it
            assert 'data-stock="A1" data-left="7"' in update["sections"]["stock"]
            assert update["seq"] > first["seq"]
            # Stop the bot with the stream still open: it ends, the app returns, the port closes.
            await transport.stop()
            await asyncio.wait_for(running, WAIT)
    assert running.exception() is None
    assert board.server is None and board.closing.is_set()
    assert not await _port_open(port)


async def test_many_viewers_share_one_computation(tmp_path: Path, clock: FakeClock, monkeypatch: Any) -> None:
    monkeypatch.delenv("TUANBOT_WEB_ENABLED", raising=False)
    shop, board = board_shop(tmp_path, clock, opens=FAR_OPENS, enabled=True, port=0, refresh_seconds=30)
    await shop.open()
    await shop.say("A1 1", "alice", G1)
    transport, running = await _run(shop)
    assert board.server is not None
    clients = []
    for leader, groups in (("lily", [G1]), ("mike", [G2]), ("admin", None)) * 4:
        http = httpx.AsyncClient(base_url=board.base_url, timeout=WAIT)
        link = board.link_for(leader, groups)
        await http.get(link[link.index("/l/") :])
        clients.append(http)
    answers = await asyncio.gather(*(http.get("/api/c/t1/live") for http in clients))
    assert all(a.status_code == 200 for a in answers)
    assert board.live.computed == 1  # twelve phones, three leaders: one computation
    assert {a.json()["figures"]["gmv_cents"] for a in answers} == {1000, 0}
    for http in clients:
        await http.aclose()
    await transport.stop()
    await asyncio.wait_for(running, WAIT)


async def test_a_taken_port_does_not_stop_the_bot(tmp_path: Path, clock: FakeClock, monkeypatch: Any) -> None:
    monkeypatch.delenv("TUANBOT_WEB_ENABLED", raising=False)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING", format="{message}")
    try:
        shop, board = board_shop(tmp_path, clock, opens=FAR_OPENS, enabled=True, port=port)
        await shop.open()
        transport, running = await _run(shop)
        assert not running.done()  # the bot runs on
        assert board.server is None
        assert any(
            f"cannot listen on 127.0.0.1:{port}" in w and "without the web board" in w for w in warnings
        )
        await transport.inject(shop.message("A1 2", "alice", G1), drain=False)  # chat still works
        assert shop.stock("A1") == 8
        queued = [item.text for item in shop.app.services.outbox.queue]
        assert any("接龙" in text and "A1×2" in text for text in queued)  # the 接龙 list is on its way
        await transport.stop()
        await asyncio.wait_for(running, WAIT)
        assert running.exception() is None
    finally:
        logger.remove(sink)
        taken.close()


async def test_an_open_stream_ends_when_its_link_expires(
    tmp_path: Path, clock: FakeClock, monkeypatch: Any
) -> None:
    monkeypatch.delenv("TUANBOT_WEB_ENABLED", raising=False)
    monkeypatch.setattr(api, "RECHECK_SECONDS", 0.0)
    shop, board = board_shop(tmp_path, clock, opens=FAR_OPENS, enabled=True, port=0, link_minutes=1)
    wall = [time.time()]
    board.use_links(Links(SECRET, link_minutes=1, admin_token="", wall=lambda: wall[0]))
    await shop.open()
    transport, running = await _run(shop)
    link = board.link_for("lily", [G1])
    async with httpx.AsyncClient(base_url=board.base_url, timeout=WAIT) as http:
        await http.get(link[link.index("/l/") :])
        async with http.stream("GET", "/api/c/t1/stream") as stream:
            events = sse_events(stream)
            assert (await asyncio.wait_for(anext(events), WAIT))[0] == "figures"
            wall[0] += 120  # two minutes later: the one-minute link has run out
            name, data = await asyncio.wait_for(anext(events), WAIT)
            assert (name, data) == ("expired", {"reason": "expired"})
        assert (await http.get("/api/c/t1/live")).status_code == 403
    await transport.stop()
    await asyncio.wait_for(running, WAIT)
