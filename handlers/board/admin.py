"""The admin page: campaigns and whether their files validate, the outbox, the send budget, health.

Two halves, like the monitor's check: `admin_memory` runs on the event loop and copies what
only the running bot knows (its campaigns, the outbox's pacing, `HealthMonitor`); the rest
reads the database and the campaign files and runs in a worker thread. `tuanbot web`, which
runs no outbox, shows the database's side only. One account today: the send budget is this
bot's (`outbox.*`), one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.campaign.loader import check_paths
from bot.campaign.runtime import CAMPAIGN_SUFFIXES
from bot.context import Services
from bot.group_filter import mask_group_text
from bot.health import HealthMonitor
from bot.storage.tables import CampaignGroupState, OutboxRow, ProcessLease

WAITING = ("queued", "sending")
TOP_TARGETS = 10


@dataclass(frozen=True)
class LoadedCampaign:
    id: str
    title: str
    file: str  # the file's name in the campaigns folder
    groups: int
    opens_at: datetime
    closes_at: datetime
    paused: bool
    delay_seconds: int
    loaded_at: datetime


def admin_memory(services: Services, live: bool) -> dict[str, Any]:
    """What only this process knows, copied on the loop (`live`: the bot's own outbox runs here)."""
    runtime = services.campaigns
    campaigns = []
    for campaign_id, loaded in sorted(runtime.campaigns.items()):
        opens_at, closes_at = runtime.effective_times(campaign_id)
        control = runtime.control(campaign_id)
        campaigns.append(
            LoadedCampaign(
                campaign_id,
                loaded.campaign.title,
                loaded.path.name,
                len(runtime.groups_of(loaded.campaign)),
                opens_at,
                closes_at,
                control.paused,
                control.delay_seconds,
                loaded.loaded_at,
            )
        )
    memory: dict[str, Any] = {
        "campaigns": campaigns,
        "anchors": dict(runtime.anchors),
        "live": live,
        "now": services.clock.now(),
    }
    if live:
        outbox = services.outbox
        pacing = outbox.pacing
        now = services.clock.now()
        memory["pacing"] = {
            "in_memory": outbox.pending(),
            "sent_today": outbox.stats.sent_today,
            "sent_last_minute": sum(1 for t in pacing.recent if (now - t).total_seconds() < 60),
            "failed": outbox.stats.failed,
            "frequency_errors": outbox.stats.frequency_errors,
            "paused_until": pacing.paused_until
            if pacing.paused_until and pacing.paused_until > now
            else None,
            "slow_until": pacing.slow_until if pacing.slow_until and pacing.slow_until > now else None,
            "transport": outbox.transport.name if outbox.transport is not None else "",
        }
        health = services.find(HealthMonitor)
        memory["health"] = (
            None
            if health is None
            else {
                "disconnected_since": health.disconnected_since,
                "disconnect_reported": health.disconnect_reported,
                "backlog": list(health.backlog),
                "backlog_reported": health.backlog_reported,
            }
        )
    return memory


def _validation(services: Services, memory: dict[str, Any]) -> list[dict[str, Any]]:
    """Every campaign file checked as `tuanbot campaign validate` does, against what is loaded."""
    config = services.config
    directory = config.path(config.campaigns_dir)
    if not directory.is_dir():
        return []
    anchors: dict[str, datetime] = memory["anchors"]
    now: datetime = memory["now"]
    files = sorted(p for p in directory.iterdir() if p.suffix in CAMPAIGN_SUFFIXES)
    reports, _ = check_paths(
        files,
        known_templates=services.renderer.names(),
        anchor=lambda campaign_id: anchors.get(campaign_id, now),
        adlaw=config.adlaw_for(""),
    )
    loaded = {c.file: c for c in memory["campaigns"]}
    found = []
    for report in reports:
        running = loaded.get(report.path.name)
        found.append(
            {
                "file": report.path.name,
                "campaign_id": report.campaign.id if report.campaign is not None else "",
                "ok": not report.problems,
                "problems": [str(p).split(": ", 1)[-1] for p in report.problems[:10]],
                "more_problems": max(0, len(report.problems) - 10),
                "running": running is not None,
            }
        )
    return found


def _outbox(engine: Engine, services: Services) -> dict[str, Any]:
    kinds: list[dict[str, Any]] = []
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        for kind, to_group, count, oldest in conn.execute(
            select(table.c.kind, table.c.group_id != "", func.count(), func.min(table.c.created_at))
            .where(table.c.status.in_(WAITING))
            .group_by(table.c.kind, table.c.group_id != "")
            .order_by(func.count().desc())
        ):
            kinds.append({"kind": kind, "to_group": bool(to_group), "count": int(count), "oldest": oldest})
        targets = conn.execute(
            select(table.c.group_id, func.count())
            .where(table.c.status.in_(WAITING), table.c.group_id != "")
            .group_by(table.c.group_id)
            .order_by(func.count().desc())
            .limit(TOP_TARGETS)
        ).all()
        tz = ZoneInfo(services.config.bot.timezone)
        local = services.clock.now().astimezone(tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        sent_today = conn.execute(
            select(func.count()).select_from(table).where(col(OutboxRow.sent_at) >= midnight)
        ).scalar_one()
    return {
        "by_kind": kinds,
        "waiting": sum(k["count"] for k in kinds),
        "top_groups": [
            {"name": mask_group_text(services.repo.group_name(g)), "count": int(n)} for g, n in targets
        ],
        "sent_today_db": int(sent_today),
    }


def _lease(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(ProcessLease).limit(1)).first()
    if row is None:
        return None
    return {"host": row.host, "pid": row.pid, "since": row.since, "heartbeat_at": row.heartbeat_at}


def _states(engine: Engine) -> dict[str, dict[str, int]]:
    table = CampaignGroupState.__table__  # type: ignore[attr-defined]
    found: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for campaign_id, status, count in conn.execute(
            select(table.c.campaign_id, table.c.status, func.count()).group_by(
                table.c.campaign_id, table.c.status
            )
        ):
            found.setdefault(campaign_id, {})[status] = int(count)
    return found


def admin_view(services: Services, memory: dict[str, Any], board: dict[str, Any]) -> dict[str, Any]:
    """The admin page (blocking reads: call it in a worker thread)."""
    engine = services.repo.engine
    settings = services.config.outbox
    outbox = _outbox(engine, services)
    pacing = memory.get("pacing")
    lease = _lease(engine)
    sent_today = pacing["sent_today"] if pacing is not None else outbox["sent_today_db"]
    now: datetime = memory["now"]
    return {
        "as_of": now,
        "live": memory["live"],
        "campaigns": memory["campaigns"],
        "states": _states(engine),
        "files": _validation(services, memory),
        "outbox": outbox,
        "accounts": [
            {
                "name": services.config.bot.name,
                "id": services.config.bot.id,
                "sent_today": sent_today,
                "daily_budget": settings.daily_budget,
                "budget_pct": round(100 * sent_today / settings.daily_budget, 1),
                "warn_pct": round(100 * settings.budget_warn_ratio, 1),
                "per_minute": settings.account_per_minute,
                "group_interval_seconds": settings.group_interval_seconds,
                "pacing": pacing,
            }
        ],
        "health": memory.get("health"),
        "lease": lease,
        "bot_running": memory["live"] or _running(lease),  # in the bot's process, it runs
        "board": board,
    }


def _running(lease: dict[str, Any] | None) -> bool:
    """A bot renewed the database's lease within the last minute (wall time, as the lease keeps it)."""
    return lease is not None and datetime.now(UTC) - lease["heartbeat_at"] < timedelta(seconds=60)


__all__ = ["admin_memory", "admin_view"]
