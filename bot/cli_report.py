"""`tuanbot report CAMPAIGN`: per-group results as a table, CSV or JSON, with the growth loops'
figures under the table (and in the JSON as `growth`)."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli_database import app_for_reading
from bot.cli_output import print_table


def report(
    campaign_id: str = typer.Argument(..., help="Campaign id."),
    config: Path = typer.Option(Path("config.yaml"), "--config", "-c", help="Path to config.yaml."),
    database: str = typer.Option(
        "", help="Database URL to read instead of config.yaml's (e.g. a kept rehearsal)."
    ),
    campaigns: Path | None = typer.Option(
        None,
        help="Campaign folder to read instead of config.yaml's. A kept rehearsal's own folder "
        "(campaigns/ beside its database) is used by default with its --database.",
    ),
    as_csv: bool = typer.Option(False, "--csv", help="CSV instead of a table."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Per-group results of a campaign: members, activity, buyers, orders, money, AOV, conversion.

    Money is gross (GMV), the discounts (满减, coupons, red-packet credit) and net, as the results post.
    """
    from rich.table import Table

    from bot.feature import FeatureFigures
    from bot.templates import money as money_text
    from handlers.monitoring.report import build_report
    from handlers.selling.perks import MemberPerks

    app = app_for_reading(config, database, campaigns)
    registry = app.services.campaigns
    if campaign_id not in registry.campaigns:
        typer.echo(
            f"no campaign {campaign_id!r} in {registry.directory}; `tuanbot campaign validate` it", err=True
        )
        raise typer.Exit(1)
    loaded = registry.campaigns[campaign_id]
    groups = registry.groups_of(loaded.campaign)
    since = loaded.nodes[0].fire_at
    until = max(registry.effective_times(campaign_id)[1], app.services.clock.now())
    names = {g: app.services.repo.group_name(g) for g in groups}
    closes_at = registry.effective_times(campaign_id)[1]
    result = build_report(
        app.services.repo.engine,
        campaign_id,
        groups,
        names,
        since,
        until,
        tiers=loaded.campaign.spend_tiers,
        priced_at=min(until, closes_at),
        redeem=loaded.campaign.points.redeem,
        perks=app.services.find(MemberPerks),  # type: ignore[type-abstract]  # a protocol is the key
        growth=app.services.get(FeatureFigures).collect(app.services.repo.engine, campaign_id, None),
    )
    if as_json:
        typer.echo(result.to_json())
        return
    if as_csv:
        typer.echo(result.to_csv(), nl=False)
        return
    table = Table(title=f"{campaign_id} — {loaded.campaign.title}（售出率 {result.sell_through_pct}%）")
    headers = [
        "群",
        "成员",
        "活跃%",
        "消息",
        "下单人数",
        "订单",
        "件数",
        "GMV",
        "满减",
        "优惠券",
        "红包抵扣",
        "会员折扣",
        "积分抵扣",
        "实付",
        "退款",
        "补发",
        "售后后净额",
        "客单价",
        "转化%(活跃)",
        "转化%(全部)",
    ]
    for header in headers:
        table.add_column(header, justify="left" if header == "群" else "right")
    for row in [*result.rows, result.totals()]:
        table.add_row(
            row.group,
            str(row.members),
            f"{row.active_pct:.1f}" if row.group != "合计" else "",
            str(row.messages),
            str(row.buyers),
            str(row.orders),
            str(row.units),
            money_text(round(row.gmv_yuan * 100)),
            money_text(round(row.tier_off_yuan * 100)),
            money_text(round(row.coupon_off_yuan * 100)),
            money_text(round(row.credit_off_yuan * 100)),
            money_text(round(row.member_off_yuan * 100)),
            money_text(round(row.points_off_yuan * 100)),
            money_text(round(row.net_yuan * 100)),
            money_text(round(row.refund_yuan * 100)),
            money_text(round(row.resend_yuan * 100)),
            money_text(round(row.net_after_sales_yuan * 100)),
            money_text(round(row.aov_yuan * 100)),
            f"{row.conversion_pct:.1f}" if row.group != "合计" else "",
            f"{row.conversion_all_pct:.1f}",
        )
    print_table(table)
    if result.aftersales_text():
        typer.echo(result.aftersales_text())
    if any(result.growth.values()):
        typer.echo(app.services.renderer.render("monitor/growth_figures.j2", growth=result.growth).strip())
