"""The board beside the bot, not in it: `tuanbot web` over the same database, read-only.

For set-ups where the bot runs elsewhere, or several bot processes (one per WeChat account,
each with its own database) want one place to look. This builds just what the board reads:
the engine, the role book, the campaign files (no scheduler: nothing is timed or sent), a
renderer, and an outbox that is never loaded or started (the bot's queue is the bot's: loading
it here would mark the bot's in-flight messages uncertain). Nothing is written, except that a
campaign with a relative opening (`opens_at: +2h`) that no bot has loaded yet gets its opening
fixed now, as `tuanbot campaign show` would.

Campaign files and leader grants are read again every `REFRESH_SECONDS`, so edits, new files
and `/leader add` in the bot reach the board without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from loguru import logger
from sqlalchemy import inspect

from bot.campaign.runtime import CAMPAIGN_SUFFIXES, CampaignRuntime
from bot.clock import SystemClock
from bot.config import Config
from bot.context import Services
from bot.outbox import Outbox
from bot.roles import RoleBook
from bot.storage.engine import make_engine
from bot.storage.outbox_store import OutboxStore
from bot.storage.repo import Repo
from bot.storage.tables import TimelineLedger
from bot.templates import DEFAULT_TEMPLATE_DIR, Renderer
from handlers.board.server import start_board, stop_board
from handlers.board.service import Board

REFRESH_SECONDS = 30.0


def _nobody(*_: Any, **__: Any) -> None:
    """A read-only board tells admins nothing (the bot does, about its own loads)."""


class NoBotDatabase(Exception):
    """The database has none of the bot's tables: no bot has run on it."""


def build_reader(config: Config) -> Board:
    """A read-only board over `config`'s database and campaign folder (campaigns loaded).

    Raises `NoBotDatabase` when the bot never ran on that database (the reader creates nothing).
    """
    engine = make_engine(config.database_url(), busy_timeout_ms=config.database.busy_timeout_ms)
    if not inspect(engine).has_table(TimelineLedger.__tablename__):
        raise NoBotDatabase(
            f"no bot tables in {engine.url.render_as_string(hide_password=True)}: "
            "start the bot on it once (or run `tuanbot db init`), or pass the bot's --database"
        )
    repo = Repo(engine)
    clock = SystemClock()
    services = Services(
        config=config,
        repo=repo,
        renderer=Renderer(DEFAULT_TEMPLATE_DIR, timezone=config.bot.timezone),
        outbox=Outbox(OutboxStore(engine), clock, config.outbox, timezone=config.bot.timezone),
        clock=clock,
        roles=RoleBook(config, repo),
    )
    runtime = CampaignRuntime(services, _nobody)
    services.attach_campaigns(runtime)
    runtime.load_all()
    return services.provide(Board(services, read_only=True))


def _mtimes(directory: Path) -> dict[Path, float]:
    if not directory.is_dir():
        return {}
    return {p.resolve(): p.stat().st_mtime for p in directory.iterdir() if p.suffix in CAMPAIGN_SUFFIXES}


async def keep_fresh(board: Board, every: float = REFRESH_SECONDS) -> None:
    """Reload changed campaign files and the leader grants, until cancelled."""
    services = board.services
    runtime = services.campaigns
    seen = _mtimes(runtime.directory)
    while True:
        await asyncio.sleep(every)
        try:
            now_seen = await board.run(_mtimes, runtime.directory)
            for path in seen.keys() - now_seen.keys():
                runtime.remove_file(path)
            for path, mtime in now_seen.items():
                if seen.get(path) != mtime:
                    runtime.load_file(path)
            seen = now_seen
            services.roles = await board.run(RoleBook, services.config, services.repo)
        except Exception as exc:  # a locked database or a half-written file: try again next time
            logger.warning("board: could not refresh campaigns or leaders: {}", exc)


async def serve(board: Board, stop: asyncio.Event) -> bool:
    """Serve until `stop` is set; False (nothing served) when the port is taken."""
    await start_board(board)
    if board.server is None:
        return False
    refresher = asyncio.create_task(keep_fresh(board), name="board-refresh")
    try:
        await stop.wait()
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        await stop_board(board)
    return True


__all__ = ["REFRESH_SECONDS", "NoBotDatabase", "build_reader", "keep_fresh", "serve"]
