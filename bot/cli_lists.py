"""`tuanbot lists CAMPAIGN`: write the 分拣单 and 提货单 (CSV and printable HTML) from the database.

The same files a leader gets with `/lists`, for an operator at a terminal (or on a kept
rehearsal's database): per pickup point, per product, and each buyer with code, remark, amount
due and paid state. A readable summary table is printed, then the paths.
"""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli_database import app_for_reading, build_or_exit
from bot.cli_output import print_table


def lists(
    campaign_id: str = typer.Argument(..., help="Campaign id (the `id:` in its file)."),
    group: str = typer.Option(
        "", "--group", "-g", help="Only buyers of this group (its id); default: all groups."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for the files (default: config's exports_dir)."
    ),
    config: Path = typer.Option(Path("config.yaml"), "--config", "-c", help="Path to config.yaml."),
    database: str = typer.Option(
        "", help="Database URL to read instead of config.yaml's (e.g. a kept rehearsal)."
    ),
    campaigns: Path | None = typer.Option(None, help="Campaign folder to read instead of config.yaml's."),
) -> None:
    """Write a campaign's 分拣单 and 提货单 (CSV + printable A4 HTML) and print a summary.

    Exit 1 for an unknown campaign or a group the campaign does not run in.
    """
    from rich.table import Table

    from bot.templates import money
    from handlers.fulfilment.lists_chat import make_lists

    app = app_for_reading(config, database, campaigns)
    registry = app.services.campaigns
    if campaign_id not in registry.campaigns:
        known = ", ".join(sorted(registry.campaigns)) or "none"
        typer.echo(
            f"tuanbot lists: no campaign {campaign_id!r} in {registry.directory} (loaded: {known})", err=True
        )
        raise typer.Exit(1)
    campaign = registry.campaigns[campaign_id].campaign
    groups = registry.groups_of(campaign)
    if group and group not in groups:
        typer.echo(
            f"tuanbot lists: campaign {campaign_id!r} does not run in group {group!r} "
            f"(its groups: {', '.join(groups)})",
            err=True,
        )
        raise typer.Exit(1)
    result, paths = build_or_exit(
        app.services.config, lambda: make_lists(app.services, campaign, [group] if group else None, out)
    )
    if not paths:
        typer.echo(f"{campaign_id}: no orders{' in ' + group if group else ''}; no lists written")
        return
    table = Table(title=f"{campaign_id} — {campaign.title}（{result.scope}）")
    for header in ("自提点", "人数", "件数", "应收", "已付人数", "未付"):
        table.add_column(header, justify="left" if header == "自提点" else "right")
    for point in result.points:
        table.add_row(
            point.point,
            str(len(point.entries)),
            str(point.units),
            money(point.net_cents),
            str(sum(1 for e in point.entries if e.paid)),
            money(point.owed_cents),
        )
    table.add_row(
        "合计",
        str(result.buyers),
        str(result.units),
        money(result.net_cents),
        str(sum(1 for p in result.points for e in p.entries if e.paid)),
        money(result.owed_cents),
    )
    print_table(table)
    for path in paths:
        typer.echo(str(path))


__all__ = ["lists"]
