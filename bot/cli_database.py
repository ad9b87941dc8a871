"""Start-up failures of the database, said as a sentence instead of a SQLAlchemy traceback.

A read-only SQLite file fails on its first statement (`PRAGMA journal_mode=WAL`), a missing
folder or a PostgreSQL server that is down on connect; the operator needs the file (or server)
and what to do, not forty lines of driver stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from bot.config import Config, ConfigError, load_config
from bot.logging_setup import setup_logging

if TYPE_CHECKING:
    from bot.app import App

T = TypeVar("T")
# Exit status for "the database cannot be used", like a config error (2).
EXIT_DATABASE = 2


def where(url: str) -> str:
    """The SQLite file, or the URL without its password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def problem(exc: DBAPIError, config: Config) -> str:
    """One sentence naming the database, the reason and what to do."""
    url = config.database_url()
    reason = str(exc.orig).strip() if exc.orig is not None else str(exc).splitlines()[0]
    if "readonly" in reason.replace("-", "").replace(" ", ""):
        advice = (
            "the file is read-only for this user: make it and its folder writable "
            "(SQLite also writes -wal and -shm files beside it), or point database.url elsewhere"
        )
    elif make_url(url).get_backend_name() == "sqlite":
        advice = (
            "check that the path is a file (not a folder) in a folder this user may write, "
            "or point database.url in the config elsewhere"
        )
    else:
        advice = "check that the server is running and the URL, user and password are right"
    return f"tuanbot: cannot use the database {where(url)}: {reason}. {advice.capitalize()}."


@contextmanager
def database_errors(config: Config) -> Iterator[None]:
    """Turn a database failure inside the block into a sentence on stderr and exit 2."""
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        typer.echo(problem(exc, config), err=True)
        raise typer.Exit(EXIT_DATABASE) from None


def build_or_exit(config: Config, build: Callable[[], T]) -> T:
    """`build()` (an app, an engine) with database failures said as a sentence."""
    with database_errors(config):
        return build()


def config_for(config: Path, database: str) -> Config:
    """The config for a command that reads a database: a bad config exits 2 with its message, and
    `--database` (a kept rehearsal's, another server's) replaces `database.url`."""
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if database:
        cfg = cfg.model_copy(update={"database": cfg.database.model_copy(update={"url": database})})
    return cfg


def config_for_reading(config: Path, database: str, campaigns: Path | None) -> Config:
    """`config_for`, and the campaign folder to read: `campaigns`, else a kept rehearsal's own
    (`campaigns/` beside its SQLite database), not data/'s file of the same id."""
    cfg = config_for(config, database)
    if database:
        beside = Path(database.split(":///", 1)[-1]).parent / "campaigns"
        if campaigns is None and database.startswith("sqlite") and beside.is_dir():
            campaigns = beside
    if campaigns is not None:
        cfg = cfg.model_copy(update={"campaigns_dir": str(campaigns.resolve())})
    return cfg


def app_for_reading(config: Path, database: str, campaigns: Path | None) -> App:
    """A quiet app over the database for a command that reads it (report, lists): campaigns
    loaded, the outbox not restored (nothing is sent), database failures said as a sentence."""
    from bot.app import App  # the app imports every feature: only commands that need it pay

    cfg = config_for_reading(config, database, campaigns)
    setup_logging("ERROR", None, timezone=cfg.bot.timezone)
    app = build_or_exit(cfg, lambda: App.build(cfg, restore_outbox=False))
    app.services.campaigns.load_all()
    return app
