"""Per-group tracking links on the board's real server (issue 18, acceptance 3 with the board): with
`web.enabled` each address in a broadcast becomes each group's own short link, which redirects
(302) to the address and counts a click for that broadcast and group, in /broadcast list and the
figures; the route needs no login, tells nothing else (an unknown code is a bare 404) and runs
no database statement on the loop. Without the board the address is left as written."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from handlers.board.service import board_of
from handlers.broadcast.figures import figures
from handlers.broadcast.service import broadcasts_of
from tests.board.kit import HeldTransport
from tests.bot.test_hot_path_no_db import LoopStatements
from tests.broadcast.kit import G1, G2, G3, G4, broadcast_shop, code_of, private
from tests.commerce.selling_kit import Shop
from tests.fakes import FakeClock

WAIT = 15.0
STRAWBERRY = "https://shop.example.com/s?id=7&from=138-1234-5678"
SPEC = "https://shop.example.com/spec"


async def _run(shop: Shop) -> tuple[HeldTransport, asyncio.Task[None]]:
    """Run the app (start steps, outbox, the board on a real port) until the transport stops."""
    transport = HeldTransport(shop.app, shop.clock)
    shop.transport = transport
    task = asyncio.create_task(shop.app.run(transport, drain_seconds=0))
    await asyncio.wait_for(transport.running.wait(), WAIT)
    return transport, task


async def _posts(transport: HeldTransport, groups: tuple[str, ...], marker: str) -> dict[str, str]:
    await transport.app.services.outbox.drain()  # the group gap, on the fake clock: at once
    for _ in range(int(WAIT / 0.02)):
        found = {g: [t for t in transport.texts(g) if marker in t] for g in groups}
        if all(found.values()):
            return {g: texts[-1] for g, texts in found.items()}
        await asyncio.sleep(0.02)
    raise AssertionError(f"posts with {marker!r} never reached {groups}")


async def test_each_group_gets_its_own_link_that_redirects_and_counts_clicks(
    tmp_path: Path, clock: FakeClock, monkeypatch: Any
) -> None:
    monkeypatch.delenv("TUANBOT_WEB_ENABLED", raising=False)
    shop = broadcast_shop(tmp_path, clock, enabled=True, port=0)
    board = board_of(shop.app.services)
    transport, running = await _run(shop)
    assert board.server is not None
    base = board.base_url
    text = f"/broadcast now #fruit 草莓详情 {STRAWBERRY} ，规格见{SPEC}。"
    await transport.inject(shop.message(text, "lily", G1, name="莉莉"), drain=False)
    posts = await _posts(transport, (G1, G2, G3), "草莓详情")
    assert not [t for t in transport.texts(G4) if "草莓详情" in t]
    pattern = re.compile(rf"{re.escape(base)}/t/([0-9A-Z]{{5}})(/2)?")
    links: dict[str, list[str]] = {}
    for group, post in posts.items():
        assert "shop.example.com" not in post  # the address is behind the group's link
        found = [m.group(0) for m in pattern.finditer(post)]
        assert len(found) == 2 and found[1] == found[0] + "/2" and post.rstrip().count("。") >= 1
        assert found[0].endswith(code_of(post))  # the link carries the group's reply code
        links[group] = found
    assert len({found[0] for found in links.values()}) == 3

    async with httpx.AsyncClient(timeout=WAIT) as http:  # a phone with no board session
        first = await http.get(links[G1][0])
        assert first.status_code == 302 and first.headers["location"] == STRAWBERRY
        assert "set-cookie" not in first.headers and first.content == b""
        assert (await http.get(links[G1][1])).headers["location"] == SPEC
        for _ in range(3):
            assert (await http.get(links[G2][0])).status_code == 302
        for probe in ("/t/ZZZZZ", f"{links[G3][0][len(base) :]}/3", "/t/" + "A" * 40, "/t/"):
            missing = await http.get(base + probe)
            assert missing.status_code == 404 and "shop.example.com" not in missing.text, probe
        lower = links[G3][0][:-5] + links[G3][0][-5:].lower()  # typed by hand in lower case
        assert (await http.get(lower)).headers["location"] == STRAWBERRY

    shop.app.flush_inbound()  # the click rows were written behind the loop
    row = broadcasts_of(shop.app.services).row(1)
    assert row is not None and row.clicks == {G1: 2, G2: 3, G3: 1}
    engine = shop.app.services.repo.engine
    assert figures(engine, "t1", [G2])["broadcast_clicks"] == 3
    assert figures(engine, "any", None)["broadcast_clicks"] == 6
    await transport.inject(private_message_of(shop, "/broadcast list", "lily"), drain=False)
    listing = await _private(transport, "lily", "📋")
    assert "已发送 · 回复 0 人 · 点击 6 次" in listing

    await transport.stop()
    await asyncio.wait_for(running, WAIT)
    assert running.exception() is None


async def test_a_click_runs_no_statement_on_the_loop_and_a_preview_click_does_not_count(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.delenv("TUANBOT_WEB_ENABLED", raising=False)
    # The real scheduler runs the broadcast's job on the real clock: the test's fixed morning
    # would make "+2h" long past (and the broadcast sent) once the real day goes by.
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    shop = broadcast_shop(tmp_path, clock, enabled=True, port=0)
    board = board_of(shop.app.services)
    transport, running = await _run(shop)
    await transport.inject(private_message_of(shop, f"/broadcast +2h #veg 蔬菜 {SPEC}", "admin"), drain=False)
    preview = await _private(transport, "admin", "群发预览")
    link = re.search(rf"{re.escape(board.base_url)}/t/[0-9A-Z]{{5}}", preview)
    assert link is not None  # the preview shows the link as 团购三群 gets it
    recorder = LoopStatements(shop.app, within="handlers/broadcast")
    recorder.recording = True
    try:
        async with httpx.AsyncClient(timeout=WAIT) as http:
            opened = await http.get(link.group(0))
            await http.get(board.base_url + "/t/ZZZZZ")
    finally:
        recorder.recording = False
        recorder.close()
    assert opened.status_code == 302 and opened.headers["location"] == SPEC
    assert recorder.seen == []
    shop.app.flush_inbound()
    row = broadcasts_of(shop.app.services).row(1)
    assert row is not None and row.status == "pending" and row.clicks == {}  # the author trying it

    await transport.stop()
    await asyncio.wait_for(running, WAIT)


async def test_without_the_board_the_address_stays_and_the_reply_code_tracks(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = broadcast_shop(tmp_path, clock)
    await shop.say(f"/broadcast now {G1} 详情 {SPEC}", "lily", G1)
    post = shop.texts(G1)[-1]
    assert f"详情 {SPEC}" in post and "/t/" not in post and code_of(post)
    await private(shop, "/broadcast list", "lily")
    assert "点击" not in shop.transport.private_texts("lily")[-1]


def private_message_of(shop: Shop, text: str, sender: str) -> Any:
    from tests.factories import private_message

    return private_message(text, sender, at=shop.clock.now())


async def _private(transport: HeldTransport, member: str, marker: str) -> str:
    await transport.app.services.outbox.drain()
    for _ in range(int(WAIT / 0.02)):
        found = [t for t in transport.private_texts(member) if marker in t]
        if found:
            return found[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"{member} never got {marker!r}")
