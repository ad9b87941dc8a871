"""`tuanbot web`: the board alone over the bot's database, read-only, with the bot's links."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import sqlalchemy as sa
from typer.testing import CliRunner

from bot.cli import cli
from handlers.board.links import Grant, Links
from handlers.board.reader import build_reader, serve
from handlers.board.server import stop_board
from tests.board.kit import ADMIN_TOKEN, G1, G2, SECRET, board_shop, client, open_link
from tests.fakes import FakeClock


def _tables(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (what a read-only reader must leave as it was)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type='table'"))]
        found = {
            name: sorted(map(tuple, conn.execute(sa.text(f'SELECT * FROM "{name}"'))), key=repr)
            for name in names
        }
    engine.dispose()
    return found


async def test_the_reader_shows_the_bots_figures_and_writes_nothing(tmp_path: Path, clock: FakeClock) -> None:
    shop, bot_board = board_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice", G1)
    await shop.say("A2 1", "bob", G2)
    shop.app.services.outbox.enqueue(
        "还在排队的消息", group_id=G1
    )  # queued in the bot: not the reader's to load
    await shop.app.services.outbox.flush()
    shop.app.flush_inbound()  # the bot's own writes, done before looking
    bots = shop.app.services.config
    config = bots.model_copy(update={"web": bots.web.model_copy(update={"port": 0})})  # any free port
    before = _tables(config.database_url())
    reader = build_reader(config)
    assert reader.read_only and reader.services.campaigns.scheduler is None
    async with client(reader) as http:
        assert (await open_link(http, bot_board.link_for("lily", [G1]))).status_code == 303  # the bot's link
        live = (await http.get("/api/c/t1/live")).json()
        assert [g["id"] for g in live["groups"]] == [G1] and live["figures"]["gmv_cents"] == 2000
        for path in ("/", "/c/t1", "/c/t1/groups", "/c/t1/results", "/c/t1/results.csv"):
            assert (await http.get(path)).status_code == 200, path
    async with client(reader, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        admin = (await http.get("/api/admin")).json()
        page = (await http.get("/admin")).text
    assert admin["live"] is False and admin["accounts"][0]["pacing"] is None
    assert admin["outbox"]["waiting"] == 1 and admin["board"]["read_only"] is True
    assert "只读看板" in page
    assert _tables(config.database_url()) == before  # not a row written, moved or marked
    reader.close()

    stop = asyncio.Event()
    served = asyncio.create_task(serve(reader, stop))
    while reader.server is None and not served.done():
        await asyncio.sleep(0.01)
    assert reader.server is not None
    async with httpx.AsyncClient(base_url=reader.base_url) as http:
        assert (await http.get("/healthz")).text == "ok"
    stop.set()
    assert await asyncio.wait_for(served, 10) is True
    await stop_board(bot_board)


def _config_file(tmp_path: Path, port: int = 0) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""
admins: [admin]
groups:
  {G1}: {{name: {G1}, leaders: [lily]}}
  {G2}: {{name: {G2}, leaders: [mike]}}
database: {{url: "sqlite:///{tmp_path / "tuanbot.db"}"}}
campaigns_dir: {tmp_path / "campaigns"}
web: {{secret: {SECRET}, port: {port}, public_url: "http://board.example:8080"}}
""",
        encoding="utf-8",
    )
    return path


def test_tuanbot_web_prints_links_and_refuses_a_taken_port(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["web", "--help"]).exit_code == 0
    config = _config_file(tmp_path)
    printed = runner.invoke(cli, ["web", "--config", str(config), "--link", "lily"])  # no database needed
    assert printed.exit_code == 0, printed.output
    url = printed.output.strip()
    assert url.startswith("http://board.example:8080/l/")
    grant = Links(SECRET, link_minutes=720, admin_token="").check_link(url.rsplit("/", 1)[1])
    assert isinstance(grant, Grant) and (grant.member_id, grant.groups) == ("lily", (G1,))
    refused = runner.invoke(cli, ["web", "--config", str(config), "--link", "alice"])
    assert refused.exit_code == 1
    empty = runner.invoke(cli, ["web", "--config", str(config)])
    assert empty.exit_code == 2 and "no bot tables" in empty.output
    assert runner.invoke(cli, ["db", "init", "--config", str(config)]).exit_code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = runner.invoke(cli, ["web", "--config", str(config), "--port", str(taken.getsockname()[1])])
    assert busy.exit_code == 1 and "cannot listen" in busy.output
