"""The `tuanbot` command line. Every command has --help."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer
from loguru import logger

from bot.config import Config, ConfigError, load_config
from bot.logging_setup import setup_logging

cli = typer.Typer(
    help="tuanbot — 社群团购群聊机器人. Start with `tuanbot run`; see README.md.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Database commands.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")

CONFIG_OPTION = typer.Option(Path("config.yaml"), "--config", "-c", help="Path to config.yaml.")


def _load(config: Path) -> Config:
    try:
        return load_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        typer.echo("Fix the keys above (see README.md, 'Configuration') and start again.", err=True)
        raise typer.Exit(2) from None


def make_transport(config: Config):  # type: ignore[no-untyped-def]
    """The transport named in config; wechaty is imported only when chosen."""
    if config.transport == "wechaty":
        from bot.transports.wechaty_adapter import WechatyTransport

        return WechatyTransport(config.wechaty.endpoint, config.wechaty.token, bot_name=config.bot.name)
    from bot.transports.simulator import SimulatorTransport

    return SimulatorTransport(bot_name=config.bot.name, bot_id=config.bot.id, timezone=config.bot.timezone)


@cli.command()
def run(
    config: Path = CONFIG_OPTION,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show INFO logs on the console too."),
    drain_seconds: float = typer.Option(
        600.0, help="At end of simulator input, how long to keep sending what is queued."
    ),
) -> None:
    """Start the bot with config.yaml (simulator by default; wechaty when configured)."""
    cfg = _load(config)
    console_level = cfg.logging.level if (verbose or cfg.transport != "simulator") else "WARNING"
    setup_logging(console_level, cfg.path(cfg.logging.file), serialize=cfg.logging.json_file)
    from bot.app import App
    from bot.startup import install_features

    app = App.build(cfg)
    install_features(app)
    transport = make_transport(cfg)
    try:
        asyncio.run(app.run(transport, drain_seconds=drain_seconds))
    except KeyboardInterrupt:
        logger.info("stopped by Ctrl-C; queued messages are kept for the next start")


@db_cli.command("init")
def db_init(config: Path = CONFIG_OPTION) -> None:
    """Create the database tables (safe to run again; existing data is kept)."""
    cfg = _load(config)
    from bot.storage.engine import init_db, make_engine

    engine = make_engine(cfg.database_url(), busy_timeout_ms=cfg.database.busy_timeout_ms)
    init_db(engine)
    typer.echo(f"database ready: {engine.url.render_as_string(hide_password=True)}")


def main() -> None:
    try:
        cli()
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
