"""`tuanbot web`: the live board alone, read-only, over the bot's database (docs/board.md).

The bot serves the board itself when `web.enabled`; this is for when it should not or cannot:
the bot on another machine, or one bot process per WeChat account and one board to look at.
It reads the same database and campaign folder, sends nothing and writes nothing
(`handlers.board.reader`). Leaders' links from `/board` work here when both use the same
secret (`web.secret`, `TUANBOT_WEB_SECRET`, or the `data/board-secret` the bot made) and the
bot's `web.public_url` points here.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli_database import build_or_exit, config_for
from bot.config import Config
from bot.logging_setup import setup_logging

if TYPE_CHECKING:
    from handlers.board.service import Board


def web(
    config: Path = typer.Option(Path("config.yaml"), "--config", "-c", help="Path to config.yaml."),
    database: str = typer.Option("", help="Database URL to read instead of config.yaml's."),
    campaigns: Path | None = typer.Option(None, help="Campaign folder to read instead of config.yaml's."),
    host: str = typer.Option("", help="Address to listen on (default: web.host)."),
    port: int | None = typer.Option(None, min=0, max=65535, help="Port (default: web.port; 0: any free)."),
    link: str = typer.Option(
        "",
        "--link",
        help="Print a board link for this member id (a leader: their groups in the config; "
        "an admin: all) and exit. Needs no database.",
    ),
) -> None:
    """Serve the live board read-only over the bot's database, until Ctrl-C.

    Exit 1 when the port is taken, 2 when the config or the database cannot be used.
    """
    from handlers.board.reader import NoBotDatabase, build_reader

    cfg = config_for(config, database)
    updates: dict[str, object] = {}
    if host:
        updates["host"] = host
    if port is not None:
        updates["port"] = port
    cfg = cfg.model_copy(
        update={
            "web": cfg.web.model_copy(update=updates),
            **({"campaigns_dir": str(campaigns.resolve())} if campaigns is not None else {}),
        }
    )
    setup_logging("WARNING" if link else "INFO", None, timezone=cfg.bot.timezone)
    if link:
        _print_link(cfg, link)
        return
    try:
        board = build_or_exit(cfg, lambda: build_reader(cfg))
    except NoBotDatabase as exc:
        typer.echo(f"tuanbot web: {exc}", err=True)
        raise typer.Exit(2) from None
    if not asyncio.run(_serve(board)):
        typer.echo(
            f"tuanbot web: cannot listen on {cfg.web.host}:{cfg.web.port}; "
            "free it or pass --port (0 picks a free one)",
            err=True,
        )
        raise typer.Exit(1)


def _print_link(cfg: Config, member_id: str) -> None:
    """A link as `/board` would send it, from config.yaml alone (leaders by config; admins: all)."""
    from handlers.board.links import Links
    from handlers.board.service import base_url

    admin = member_id in cfg.admins
    groups = sorted(g for g, settings in cfg.groups.items() if member_id in settings.leaders)
    if not admin and not groups:
        typer.echo(f"{member_id!r} is neither an admin nor a leader of a group in the config", err=True)
        raise typer.Exit(1)
    token = Links.from_config(cfg).mint(member_id, None if admin else groups)
    typer.echo(f"{base_url(cfg.web)}/l/{token}")


async def _serve(board: Board) -> bool:
    from handlers.board.reader import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = asyncio.create_task(serve(board, stop))
    while board.server is None and not started.done():
        await asyncio.sleep(0.05)
    if board.server is not None:
        admins = " · admins: /login" if board.settings.admin_token else ""
        typer.echo(f"board (read-only) on {board.base_url}/ · leaders: a /board link{admins} · Ctrl-C stops")
    return await started
