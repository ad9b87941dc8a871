"""The results page's poster, through the HTTP API: a PNG of the viewer's own groups only."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from handlers.poster.facts import poster_facts
from tests.board.kit import ADMIN_TOKEN, G1, G2, board_shop, client, open_link
from tests.fakes import FakeClock


async def test_the_poster_shows_a_leader_only_their_groups_and_an_admin_all(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop, board = board_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice", G1, name="阿花")  # 团购一群: ¥20.00
    await shop.say("A2 1", "bob", G2, name="小白")  # 团购二群: ¥20.50
    await shop.drain()
    services = shop.app.services

    lily = poster_facts(services, "t1", [G1])
    assert (lily.groups, lily.gmv_cents, lily.buyers) == (1, 2000, 1)
    assert all(G2 not in g.name for g in lily.top_groups)
    everyone = poster_facts(services, "t1")
    assert (everyone.groups, everyone.gmv_cents, everyone.buyers) == (2, 4050, 2)

    async with client(board) as http:
        await open_link(http, board.link_for("lily", services.roles.leader_groups("lily")))
        answer = await http.get("/c/t1/poster.png")
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(answer.content)).size[0] == 1080
    async with client(board, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        assert (await http.get("/c/t1/poster.png")).status_code == 200
    async with client(board) as http:  # no link, no token: no poster
        assert (await http.get("/c/t1/poster.png")).status_code in (401, 403)
    board.close()
