"""`tuanbot report` on a rehearsal's database, checked against figures recomputed from the raw tables."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.campaign import compile_timeline, load_campaign
from tests.rehearsal_kit import quiet_copy

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "fixtures" / "sample_fixed.yaml"
SCENARIO = REPO / "data" / "scenarios" / "sample_orders.yaml"


def tuanbot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(REPO)},
    )


def recompute(db: Path, campaign_id: str, group: str, since: str, until: str) -> dict[str, float]:
    """Plain SQL over the raw tables, independent of bot.monitoring (definitions: docs/metrics.md)."""
    con = sqlite3.connect(db)
    q = lambda sql, *a: con.execute(sql, a).fetchall()  # noqa: E731
    members = q("SELECT count(*) FROM memberships WHERE group_id=? AND left_at IS NULL", group)[0][0]
    speakers = {
        r[0]
        for r in q(
            "SELECT DISTINCT sender_id FROM inbound_messages WHERE group_id=? AND time>=? AND time<?",
            group,
            since,
            until,
        )
    }
    messages = q(
        "SELECT count(*) FROM inbound_messages WHERE group_id=? AND time>=? AND time<?", group, since, until
    )[0][0]
    active = "campaign_id=? AND group_id=? AND status='active' AND created_at>=? AND created_at<?"
    buyers = {
        r[0]
        for r in q(f"SELECT DISTINCT member_id FROM orders WHERE {active}", campaign_id, group, since, until)
    }
    orders, units, gmv = q(
        f"SELECT count(*), coalesce(sum(quantity),0), coalesce(sum(quantity*unit_price_cents),0) FROM orders WHERE {active}",
        campaign_id,
        group,
        since,
        until,
    )[0]
    con.close()
    active_members = len(speakers | buyers)
    members = max(members, active_members)  # docs/metrics.md: never fewer than the active ones
    return {
        "members": members,
        "active_pct": round(100 * active_members / members, 1) if members else 0.0,
        "messages": messages,
        "buyers": len(buyers),
        "orders": orders,
        "units": units,
        "gmv_yuan": gmv / 100,
        "aov_yuan": (gmv // len(buyers)) / 100 if buyers else 0.0,
        "conversion_pct": round(100 * len(buyers) / active_members, 1) if active_members else 0.0,
        "conversion_all_pct": round(100 * len(buyers) / members, 1) if members else 0.0,
    }


def test_report_matches_raw_tables_after_rehearsal(tmp_path: Path) -> None:
    # The report reads the raw tables, not the alerts: the every-minute alert checks only slow it.
    quiet = quiet_copy(SAMPLE, tmp_path)
    proc = tuanbot("rehearse", str(quiet), "--speed", "3600", "--scenario", str(SCENARIO), "--keep")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    db = Path(re.search(r"database kept: (\S+)", proc.stdout).group(1))  # type: ignore[union-attr]
    try:
        report = tuanbot("report", "fruit-2026-12", "--database", f"sqlite:///{db}", "--json")
        assert report.returncode == 0, report.stderr
        data = json.loads(report.stdout)
        campaign = load_campaign(SAMPLE)
        nodes = compile_timeline(campaign)
        # SQLite stores naive UTC: compare with the same text form.
        since = nodes[0].fire_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        # The report's own window: it runs to the close, or to now once the real clock is past it
        # (the sample's fixed close, 2026-12-06 14:00 UTC, passed during session 38).
        assert datetime.fromisoformat(data["since"]) == nodes[0].fire_at
        assert datetime.fromisoformat(data["until"]) >= campaign.closes_at
        until = datetime.fromisoformat(data["until"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        rows = {row["group"]: row for row in data["groups"]}
        assert set(rows) == {"团购一群", "团购二群"}
        for group, row in rows.items():
            expected = recompute(db, "fruit-2026-12", group, since, until)
            assert {k: row[k] for k in expected} == expected, group
        assert sum(r["orders"] for r in rows.values()) > 0 and sum(r["messages"] for r in rows.values()) > 0
        con = sqlite3.connect(db)
        sold, total = con.execute(
            "SELECT sum(total - stock), sum(total) FROM campaign_stock WHERE campaign_id='fruit-2026-12'"
        ).fetchone()
        con.close()
        assert data["sell_through_pct"] == round(100 * sold / total, 1)
        table = tuanbot("report", "fruit-2026-12", "--database", f"sqlite:///{db}")
        assert "团购一群" in table.stdout and "客单价" in table.stdout and "合计" in table.stdout
        csv_out = tuanbot("report", "fruit-2026-12", "--database", f"sqlite:///{db}", "--csv")
        assert csv_out.stdout.splitlines()[0].startswith("group,members,active_pct")
    finally:
        shutil.rmtree(db.parent, ignore_errors=True)
