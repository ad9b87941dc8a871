"""The `tuanbot` command line. Every command has --help."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, tzinfo
from pathlib import Path

import typer
from loguru import logger

from bot import event_loop
from bot.cli_database import build_or_exit
from bot.cli_lists import lists
from bot.cli_members import member_cli
from bot.cli_output import print_table
from bot.cli_report import report as report_command
from bot.cli_web import web
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
campaign_cli = typer.Typer(help="Check and inspect campaign files.", no_args_is_help=True)
cli.add_typer(campaign_cli, name="campaign")

CONFIG_OPTION = typer.Option(Path("config.yaml"), "--config", "-c", help="Path to config.yaml.")


def _load(config: Path) -> Config:
    try:
        return load_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        fix = "the keys above" if exc.keys else "what the line above says"
        typer.echo(f"Fix {fix} (see README.md, 'Configuration') and start again.", err=True)
        raise typer.Exit(2) from None


def make_transport(config: Config, account: str = ""):  # type: ignore[no-untyped-def]
    """The transport named in config (or in the account's entry); wechaty is imported only when chosen."""
    kind, endpoint, token = config.transport, config.wechaty.endpoint, config.wechaty.token
    for entry in config.accounts:
        if entry.id == account:
            kind, endpoint = entry.transport, entry.wechaty.endpoint
            token = os.environ.get(entry.wechaty.token_env, "") if entry.wechaty.token_env else ""
    if kind == "wechaty":
        from bot.transports.wechaty_adapter import WechatyTransport

        return WechatyTransport(endpoint, token, bot_name=config.bot.name)
    from bot.transports.simulator import SimulatorTransport

    return SimulatorTransport(bot_name=config.bot.name, bot_id=config.bot.id, timezone=config.bot.timezone)


@cli.command()
def run(
    config: Path = CONFIG_OPTION,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show INFO logs on the console too."),
    drain_seconds: float = typer.Option(
        600.0, help="At end of simulator input, how long to keep sending what is queued."
    ),
    account: str = typer.Option(
        "",
        "--account",
        help="Run as this account of config.yaml's accounts: (one process per account; docs/deploy.md).",
    ),
) -> None:
    """Start the bot with config.yaml (simulator by default; wechaty when configured)."""
    cfg = _load(config)
    account = _chosen_account(cfg, account)
    if account:
        logger.configure(extra={"account": account})  # every record says which account's process wrote it
    console_level = cfg.logging.level if (verbose or cfg.transport != "simulator") else "WARNING"
    setup_logging(
        console_level,
        cfg.path(cfg.logging.file),
        serialize=cfg.logging.json_file,
        timezone=cfg.bot.timezone,
    )
    from bot.app import App
    from bot.startup import install_features
    from bot.storage.lease import LeaseHeld

    try:
        app = build_or_exit(cfg, lambda: App.build(cfg, hold_lease=True, account=account))
    except LeaseHeld as exc:
        typer.echo(f"tuanbot: not starting: {exc}", err=True)
        raise typer.Exit(3) from None
    install_features(app)
    transport = make_transport(cfg, account)
    try:
        logger.info("event loop: {}", event_loop.available(cfg.bot.event_loop))
        event_loop.run(app.run(transport, drain_seconds=drain_seconds), cfg.bot.event_loop)
    except KeyboardInterrupt:
        logger.info("stopped by Ctrl-C; queued messages are kept for the next start")


def _chosen_account(cfg: Config, account: str) -> str:
    """The account this process runs as; several accounts must be named, an unknown one is refused."""
    ids = [a.id for a in cfg.accounts]
    if not account and len(ids) > 1:
        typer.echo(
            f"tuanbot: config.yaml lists {len(ids)} accounts; start one process per account with "
            f"--account {' | '.join(ids)} (docs/deploy.md)",
            err=True,
        )
        raise typer.Exit(2)
    if account and account not in ids:
        known = ", ".join(ids) or "none: add an accounts: section to config.yaml"
        typer.echo(f"tuanbot: no account {account!r} in config.yaml; accounts: {known}", err=True)
        raise typer.Exit(2)
    return account or (ids[0] if ids else "")


@db_cli.command("init")
def db_init(config: Path = CONFIG_OPTION) -> None:
    """Create the database tables (safe to run again; existing data is kept)."""
    cfg = _load(config)
    from bot.schema import create_schema
    from bot.storage.engine import make_engine

    engine = make_engine(cfg.database_url(), busy_timeout_ms=cfg.database.busy_timeout_ms)
    build_or_exit(cfg, lambda: create_schema(engine))
    typer.echo(f"database ready: {engine.url.render_as_string(hide_password=True)}")


@campaign_cli.command("validate")
def campaign_validate(
    paths: list[Path] = typer.Argument(..., help="Campaign files or folders (all *.yaml inside)."),
    config: Path = CONFIG_OPTION,
) -> None:
    """Check campaign files; print every problem as file:line:column: field: message.

    Every file is reported (a broken one never stops the rest); relative openings (`+2h`) count
    from now. Exit 1 if any file has a problem, with a summary line at the end. The 广告法 words
    config.yaml allows or adds for all groups (`adlaw:`) apply when that file exists, and its
    groups are what broadcast messages may name.
    """
    from bot.campaign import cautions, format_problems
    from bot.campaign.loader import check_paths, config_groups
    from bot.templates import Renderer

    cfg = _load(config) if config.exists() else None
    adlaw, groups = (cfg.adlaw_for(""), config_groups(cfg)) if cfg is not None else (None, None)
    reports, missing = check_paths(paths, known_templates=Renderer().names(), adlaw=adlaw, groups=groups)
    broken = len(missing)
    if missing:
        typer.echo(format_problems(missing))
    for report in reports:
        if report.problems:
            broken += 1
            typer.echo(format_problems(report.problems))
        elif report.campaign is not None:
            campaign = report.campaign
            typer.echo(f"ok  {campaign.id}: {campaign.title} ({len(campaign.products)} products)")
    valid = [(r.path, r.campaign) for r in reports if r.campaign is not None]
    warnings = cautions.overlaps(valid, groups or {})
    if groups is not None:  # without config.yaml no group is known
        warnings = [
            w for path, campaign in valid for w in cautions.unknown_groups(path, campaign, groups)
        ] + warnings
    for warning in warnings:
        typer.echo(warning)
    problems = len(missing) + sum(len(r.problems) for r in reports)
    if broken:
        typer.echo(
            f"{problems} problem(s) in {broken} file(s), {len(reports) - broken + len(missing)} ok; "
            "fix them and run again."
        )
        raise typer.Exit(1)
    typer.echo(f"{len(reports)} file(s) ok" + (f", {len(warnings)} warning(s)" if warnings else ""))


@campaign_cli.command("show")
def campaign_show(
    campaign_id: str = typer.Argument(..., help="Campaign id (the `id:` in its file)."),
    config: Path = CONFIG_OPTION,
) -> None:
    """Print a campaign's compiled timeline: each node, its time per group, and its state."""
    from rich.table import Table

    from bot.app import App

    cfg = _load(config)
    setup_logging("ERROR", None, timezone=cfg.bot.timezone)
    app = build_or_exit(cfg, lambda: App.build(cfg, restore_outbox=False))
    registry = app.services.campaigns
    problems = registry.load_all()
    if campaign_id not in registry.campaigns:
        known = ", ".join(sorted(registry.campaigns)) or "none"
        typer.echo(f"no campaign {campaign_id!r} in {registry.directory} (loaded: {known})", err=True)
        if problems:
            typer.echo("some files did not load; run `tuanbot campaign validate` on them", err=True)
        raise typer.Exit(1)
    loaded = registry.campaigns[campaign_id]
    table = Table(title=f"{campaign_id} — {loaded.campaign.title} ({loaded.campaign.timezone})")
    for column in ("node", "kind", "time", "offset", "group", "state"):
        table.add_column(column)
    style = {"pending": "yellow", "posted": "green", "done": "green", "skipped": "red"}
    for node, group, state, detail in registry.node_states(campaign_id):
        table.add_row(
            node.node_id,
            node.kind,
            f"{node.fire_at:%Y-%m-%d %H:%M %Z}",
            _offset(node.offset),
            group,
            f"[{style.get(state, 'white')}]{state}[/]" + (f" ({detail})" if detail else ""),
        )
    print_table(table)


def _offset(delta: object) -> str:
    from bot.rehearsal import offset_label

    return offset_label(delta)  # type: ignore[arg-type]


def _ran_at(scheduled: datetime, ran_at: datetime, tz: tzinfo) -> str:
    """The time of day a node ran, with its date only when that differs from the scheduled one."""
    ran, due = ran_at.astimezone(tz), scheduled.astimezone(tz)
    return f"{ran:%H:%M:%S}" if ran.date() == due.date() else f"{ran:%m-%d %H:%M:%S}"


@cli.command()
def rehearse(
    path: Path = typer.Argument(..., help="Campaign file to rehearse."),
    speed: float = typer.Option(
        60.0,
        min=0.001,
        help="How fast to play it: 60 = a minute a second, 3600 = an hour a second. "
        "Quiet stretches are skipped either way, and the transcript's times do not depend on it.",
    ),
    scenario: Path | None = typer.Option(
        None, help="YAML list of {at: T+1m, line: 'alice@团购一群: 接龙 A1 2'}."
    ),
    transcript: Path | None = typer.Option(
        None, help="Write the JSON-lines transcript here (default: inside the throw-away folder)."
    ),
    config: Path = CONFIG_OPTION,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show the bot's logs too."),
    keep: bool = typer.Option(False, "--keep", help="Keep the throw-away database (for `tuanbot report`)."),
) -> None:
    """Dry-run a campaign on the simulator with compressed time and a throw-away database."""
    from rich.table import Table

    from bot.campaign import CampaignError
    from bot.rehearsal import RehearsalStuck, ScenarioError, offset_label
    from bot.rehearsal import rehearse as run_rehearsal

    cfg = _load(config)
    setup_logging("INFO" if verbose else "ERROR", None, timezone=cfg.bot.timezone)
    try:
        result = asyncio.run(
            run_rehearsal(
                path,
                cfg,
                speed=speed or None,
                scenario=scenario,
                transcript_path=transcript,
                keep_workdir=keep,
            )
        )
    except CampaignError as exc:
        typer.echo(str(exc), err=True)
        typer.echo("Fix the campaign file (see docs/campaigns.md) and rehearse again.", err=True)
        raise typer.Exit(1) from None
    except (ScenarioError, RehearsalStuck) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    table = Table(title=f"rehearsal of {result.campaign.id} at {result.speed:g}x")
    for column in ("node", "kind", "scheduled", "offset", "ran at", "late", "result", "what it did"):
        table.add_column(column)
    colours = {"on time": "green", "quiet": "green", "late": "yellow", "skipped": "red", "never ran": "red"}
    for node in result.nodes:
        table.add_row(
            node.node_id,
            node.kind,
            f"{node.scheduled:%m-%d %H:%M}",
            offset_label(
                node.scheduled
                - result.nodes[0].scheduled
                + (result.nodes[0].scheduled - next(n.scheduled for n in result.nodes if n.kind == "open"))
            ),
            "-" if node.ran_at is None else _ran_at(node.scheduled, node.ran_at, result.campaign.tz),
            "-" if node.late_seconds is None else f"{node.late_seconds:.0f}s",
            f"[{colours[node.status] if not node.ok else 'green'}]{node.status}[/]",
            node.result,
        )
    print_table(table)
    if result.transcript_file is not None:
        typer.echo(f"transcript: {result.transcript_file} ({len(result.transcript)} messages)")
    if keep:
        db = result.workdir / "rehearsal.db"
        typer.echo(
            f"folder kept: {result.workdir} (its database, campaigns/, transcript and any /export files)"
        )
        typer.echo(f"database kept: {db}")
        typer.echo(f"  tuanbot report {result.campaign.id} --database sqlite:///{db}")
    else:
        typer.echo(f"throw-away folder removed: {result.workdir} (--keep keeps it, with any /export files)")
    if not result.all_on_time:
        typer.echo("some nodes did not fire on time; see the table above", err=True)
        raise typer.Exit(1)


cli.command("report")(report_command)  # `tuanbot report CAMPAIGN`: per-group results (bot/cli_report.py)
cli.command("lists")(lists)  # `tuanbot lists CAMPAIGN`: the pickup-point lists (bot/cli_lists.py)
cli.add_typer(member_cli, name="member")  # `tuanbot member export|forget ID` (bot/cli_members.py)
cli.command("web")(web)  # `tuanbot web`: the live board alone, read-only (bot/cli_web.py)


def main() -> None:
    try:
        cli()
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
