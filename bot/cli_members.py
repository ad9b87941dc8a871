"""`tuanbot member export ID` and `tuanbot member forget ID`: one member's data on request (docs/privacy.md).

A member may ask what the bot keeps about them, or to be forgotten (个人信息保护法 第四十五条,
第四十七条). Export writes every row naming them to one JSON file under `exports_dir`, for the
admin to hand over privately; forget erases their personal data and keeps the transaction
records with a pseudonym (`bot/member_data.py`). Forget needs the bot stopped: a running bot
holds members in memory and would write them back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from bot.cli_database import build_or_exit, config_for
from bot.cli_output import print_table
from bot.config import Config

member_cli = typer.Typer(
    help="One member's data: export it or forget it (docs/privacy.md).", no_args_is_help=True
)

CONFIG = typer.Option(Path("config.yaml"), "--config", "-c", help="Path to config.yaml.")
DATABASE = typer.Option("", help="Database URL to use instead of config.yaml's.")
MEMBER = typer.Argument(..., help="The member's id (what /whoami shows; never a display name).")


def _engine(cfg: Config):  # type: ignore[no-untyped-def]
    from bot.schema import create_schema
    from bot.storage.engine import make_engine

    def build():  # type: ignore[no-untyped-def]
        engine = make_engine(cfg.database_url(), busy_timeout_ms=cfg.database.busy_timeout_ms)
        create_schema(engine)
        return engine

    return build_or_exit(cfg, build)


def _file_name(member_id: str, stamp: str) -> str:
    safe = re.sub(r"[^0-9A-Za-z_.-]", "_", member_id)[:40] or "member"
    return f"member-{safe}-{stamp}.json"


@member_cli.command("export")
def export_member(
    member_id: str = MEMBER,
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for the file (default: exports_dir)."),
    config: Path = CONFIG,
    database: str = DATABASE,
) -> None:
    """Write everything the bot stores about one member to a JSON file and print where.

    Exit 1 when nothing is stored about that id (check the id with /whoami).
    """
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from rich.table import Table

    from bot.member_data import export

    cfg = config_for(config, database)
    data = export(_engine(cfg), member_id)
    if not data.tables:
        typer.echo(
            f"nothing is stored about member {member_id!r}; ids are case-sensitive (see /whoami)", err=True
        )
        raise typer.Exit(1)
    folder = out if out is not None else cfg.path(cfg.exports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    local = now.astimezone(ZoneInfo(cfg.bot.timezone))  # file names in the bot's zone, like the lists'
    path = folder / _file_name(member_id, local.strftime("%Y%m%d-%H%M%S"))
    document = {"member_id": member_id, "exported_at": now.isoformat(), "tables": data.tables}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    table = Table(title=f"member {member_id}: stored data")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in data.tables.items():
        table.add_row(name, str(len(rows)))
    print_table(table)
    typer.echo(f"written to {path}  (personal data: hand it to the member privately)")


@member_cli.command("forget")
def forget_member(
    member_id: str = MEMBER,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    config: Path = CONFIG,
    database: str = DATABASE,
) -> None:
    """Erase one member's personal data; orders and payments are kept under a pseudonym.

    Stop the bot first (exit 3 while it runs). Exit 1 when nothing is stored about the id.
    """
    from rich.table import Table

    from bot.member_data import export, forget
    from bot.storage.lease import LeaseHeld, ProcessLeaseHolder

    cfg = config_for(config, database)
    engine = _engine(cfg)
    data = export(engine, member_id)
    if not data.tables:
        typer.echo(
            f"nothing is stored about member {member_id!r}; ids are case-sensitive (see /whoami)", err=True
        )
        raise typer.Exit(1)
    lease = ProcessLeaseHolder(engine)  # before asking: a yes must not meet a running bot
    try:
        lease.acquire()
    except LeaseHeld as exc:
        typer.echo(f"tuanbot: not forgetting while the bot runs: {exc}", err=True)
        raise typer.Exit(3) from None
    try:
        total = sum(len(rows) for rows in data.tables.values())
        typer.echo(
            f"member {member_id}: {total} row(s) in {len(data.tables)} table(s): {', '.join(data.tables)}"
        )
        if not yes and not typer.confirm(
            "Erase this member's personal data? This cannot be undone", default=False
        ):
            typer.echo("nothing changed")
            raise typer.Exit(1)
        reports = forget(engine, member_id)
    finally:
        lease.release()
    table = Table(title=f"member {member_id}: forgotten")
    for column, justify in (
        ("table", "left"),
        ("rows", "right"),
        ("deleted", "right"),
        ("pseudonymised", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_column("what was done")
    for r in reports:
        table.add_row(r.table, str(r.rows), str(r.deleted), str(r.pseudonymised), r.note)
    print_table(table)
    typer.echo(
        "done: orders, payments and refunds are kept 3 years (电子商务法 第三十一条), "
        "without the member's identity"
    )
