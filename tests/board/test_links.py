"""/board sends a private, signed link scoped to the sender's groups; the signing secret is made
once, kept with mode 0600, and survives a restart."""

from __future__ import annotations

import stat
from pathlib import Path

from handlers.board.links import Grant, Links, board_secret, secret_path
from tests.board.kit import G1, G2, board_shop, client, open_link
from tests.conftest import make_config
from tests.factories import private_message
from tests.fakes import FakeClock


async def test_board_answers_leaders_privately_with_their_own_link(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = board_shop(tmp_path, clock, enabled=True, public_url="https://board.example.com/")
    await shop.open()
    shop.transport.clear()
    await shop.say("/board", "lily", G1)
    assert shop.texts(G1) == []  # nothing in the group
    [reply] = shop.transport.private_texts("lily")
    assert "https://board.example.com/l/" in reply and "720 分钟" in reply and G2 not in reply
    url = next(word for word in reply.split() if word.startswith("https://"))
    async with client(board, base_url="https://board.example.com") as http:
        opened = await open_link(http, url)
        assert opened.status_code == 303 and "secure" in opened.headers["set-cookie"].lower()
        assert (await http.get("/api/me")).json()["groups"] == [G1]

    await shop.transport.inject(private_message("/board", "admin", at=clock.now()))
    [admin_reply] = shop.transport.private_texts("admin")
    admin_url = next(word for word in admin_reply.split() if word.startswith("https://"))
    async with client(board, base_url="https://board.example.com") as http:
        await open_link(http, admin_url)
        assert (await http.get("/api/me")).json()["all_groups"] is True

    await shop.say("/board", "alice", G1)  # a member may not
    assert not any("/l/" in t for t in shop.transport.private_texts("alice") + shop.texts(G1))
    board.close()


async def test_board_says_so_when_there_is_no_board(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = board_shop(tmp_path, clock, enabled=False)
    await shop.say("/board", "lily", G1)
    [reply] = shop.transport.private_texts("lily")
    assert "看板没有开启" in reply and "/l/" not in reply


def test_the_secret_is_made_once_kept_0600_and_links_survive_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path)  # no web.secret
    assert not config.web.secret
    first = Links.from_config(config)
    path = secret_path(config)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    token = first.mint("lily", [G1])
    restarted = Links.from_config(make_config(tmp_path))  # a new process reads the kept secret
    grant = restarted.check_link(token)
    assert isinstance(grant, Grant) and grant.member_id == "lily" and grant.groups == (G1,)
    assert board_secret(config) == path.read_text(encoding="utf-8").strip()
    other = Links.from_config(make_config(tmp_path / "elsewhere"))  # another folder, another secret
    assert not isinstance(other.check_link(token), Grant)
