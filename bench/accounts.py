"""Several accounts (issue 18, acceptance 2): an opening post into 300 groups with 1, 2 and 4 accounts.

Real `tuanbot run --account ID` processes on the simulator transport, one PostgreSQL
(a throw-away `pgserver`, or TUANBOT_PG_URL's server), one fresh database per run; the
driver is the end-to-end test's (tests/multiaccount/driver.py). For each account count the
300 groups are split evenly (no standby), a campaign whose only node before its close is
the opening is written to open a little after the processes start, and the clock runs
from the opening's scheduled time to the moment the last group's opening post left the
outbox (`outbox.sent_at`, checked against what every process printed).

WeChat's pace, scaled down 20× so a run takes seconds, not the ten minutes one real account
needs for 300 groups (config.yaml: 3 s per group, 30 a minute, 1–3 s between groups):
0.15 s per group, 600 a minute and 0.05–0.15 s between groups, per account. Multiply the
figures by 20 for WeChat time. The pause between groups is what paces a fan-out here, as it
is in production; the per-minute cap is checked in every 60 s window, each account on its own.

Baseline: the 1-account run of the same invocation. Goal: it scales with the accounts, at
least 75 % of linear (2 accounts ≥ 1.5× faster, 4 accounts ≥ 3× faster).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import Goal, Result, cli, say
from bot.campaign import compile_timeline, load_campaign
from tests.chaos.driver import later, until, wait_for
from tests.chaos.figures import query
from tests.multiaccount.driver import Fleet, Layout, Limits, fresh_database, write_campaign, write_config
from tests.multiaccount.figures import Figures, rate_checks

SCALE = 20  # WeChat seconds per benchmark second
LIMITS = Limits(
    group_interval_seconds=3.0 / SCALE,
    account_per_minute=30 * SCALE,
    switch_pause_seconds=(1.0 / SCALE, 3.0 / SCALE),
    fanout_chunk_groups=50,  # config.yaml's default
)
ACCOUNT_COUNTS = (1, 2, 4)
FULL_GROUPS = 300
QUICK_GROUPS = 60  # a smoke test: fixed costs (fan-out, the 1 s claim sync) weigh more, the ratio is lower
EFFICIENCY = 0.75  # of linear scaling, for the goal
CAMPAIGN = "bench"
TIMELINE = """
countdowns: []
open:
  text: 开团啦 bench
broadcasts:
  at: []
"""


def _server(tmp: Path) -> tuple[str, Any]:
    """A PostgreSQL base URL (psycopg2) and the pgserver to clean up (None with TUANBOT_PG_URL)."""
    if os.environ.get("TUANBOT_PG_URL"):
        return os.environ["TUANBOT_PG_URL"].replace("postgresql://", "postgresql+psycopg2://", 1), None
    import pgserver

    server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
    return server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1), server


def one_run(base_url: str, tmp: Path, groups: list[str], accounts: int) -> dict[str, Any]:
    """Start `accounts` processes over `groups`, open, wait for every opening post; the figures."""
    ids = [f"a{i}" for i in range(1, accounts + 1)]
    layout = Layout.split(groups, ids)
    url = fresh_database(base_url, f"bench_accounts_{accounts}_{os.getpid()}")
    folder = tmp / f"accounts-{accounts}"
    folder.mkdir()
    config = write_config(folder, url, layout, LIMITS)
    lead = 10.0 + 3.0 * accounts  # the processes start meanwhile (two cores start four in ~10 s)
    path = write_campaign(
        folder, CAMPAIGN, groups, later(lead), later(lead + 7200), {"A1": ("草莓", 1000)}, TIMELINE
    )
    # The file holds whole seconds: the opening is the compiled node's time, not `later(lead)`.
    opens = next(n.fire_at for n in compile_timeline(load_campaign(path)) if n.kind == "open")
    fleet = Fleet(folder, config, layout)
    engine = sa.create_engine(url)
    notes: list[str] = []
    started = time.monotonic()
    try:
        # The first process creates the schema alone; the others start together once it is up.
        fleet.start(ids[0], "first")
        ready = fleet.wait_ready(ids[:1], campaigns=1)
        for account in ids[1:]:
            fleet.start(account, "first")
        ready |= fleet.wait_ready(ids[1:], campaigns=1)
        if len(ready) < accounts or until(opens) < 0.5:
            notes.append(f"{accounts} account(s): ready {ready} only {until(opens):.1f}s before the opening")
        expected = len(groups) * sum(LIMITS.switch_pause_seconds) / 2 / accounts

        def all_sent() -> bool:
            rows = query(engine, "SELECT COUNT(*) FROM outbox WHERE kind = 'open' AND status = 'sent'")
            return bool(rows) and int(rows[0][0]) >= len(groups)

        if not wait_for(all_sent, timeout=until(opens) + 4 * expected + 60, interval=0.2):
            notes.append(f"{accounts} account(s): not every opening post left")
        fleet.finish_all(timeout=30)
    finally:
        fleet.stop_all()
    result = _measure(engine, fleet, layout, groups, opens, notes)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    engine.dispose()
    return result


def _measure(
    engine: sa.Engine, fleet: Fleet, layout: Layout, groups: list[str], opens: datetime, notes: list[str]
) -> dict[str, Any]:
    opened = opens.astimezone(UTC).replace(tzinfo=None)  # the tables keep naive UTC
    sent = query(
        engine,
        "SELECT account, group_id, sent_at FROM outbox WHERE kind = 'open' AND sent_at IS NOT NULL ORDER BY sent_at",
    )
    delays = [(at - opened).total_seconds() for _, _, at in sent]
    fanned = query(
        engine,
        "SELECT MAX(ran_at) FROM timeline_ledger WHERE campaign_id = :c AND node_id = 'open'",
        c=CAMPAIGN,
    )
    fanout = (fanned[0][0] - opened).total_seconds() if fanned and fanned[0][0] else None
    printed = Counter(
        m.target[2:]
        for _, m in fleet.transcripts()
        if m.target.startswith("g:") and m.text.startswith("开团啦")
    )
    # One account is today's single-account mode: its rows carry no account ("").
    single = layout.ids[0] if len(layout.ids) == 1 else None
    wrong = sum(1 for account, group, _ in sent if (account or single) not in layout.listers(group))
    figures = Figures()
    rate_checks(figures, engine, layout, LIMITS.account_per_minute)
    return {
        "accounts": len(layout.ids),
        "groups": len(groups),
        "opening_reached_all_s": max(delays) if len(sent) >= len(groups) else None,
        "opening_reached_half_s": sorted(delays)[len(delays) // 2] if delays else None,
        "first_post_s": min(delays, default=None),
        "fanout_done_s": fanout,
        "open_posts_sent": len(sent),
        "open_posts_by_account": dict(Counter(a for a, _, _ in sent)),
        # The scheduler's own account sends at once; the others claim their rows in their peer
        # sync (once a second), so their first post shows that lag.
        "first_open_post_by_account_s": {
            account: round(min(d for (a, _, _), d in zip(sent, delays, strict=True) if a == account), 3)
            for account in sorted({a for a, _, _ in sent})
        },
        "groups_printed_once": sum(1 for g in groups if printed[g] == 1),
        "groups_printed_twice": sum(1 for g in groups if printed[g] > 1),
        "sent_by_account_not_in_group": wrong,
        "sends_over_account_limit": figures.sends_over_account_limit,
        "most_sends_in_60s_by_account": figures.info["most sends in any 60 s, by account"],
        "unexpected_exits": fleet.unexpected_exits(),
        "notes": notes,
    }


def run(quick: bool) -> Result:
    groups = [f"g{i:03d}" for i in range(1, (QUICK_GROUPS if quick else FULL_GROUPS) + 1)]
    runs: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tb-bench-acct-") as tmp:
        base_url, server = _server(Path(tmp))
        try:
            for accounts in ACCOUNT_COUNTS:
                say(f"accounts: {accounts} account(s), {len(groups)} groups")
                runs[accounts] = one_run(base_url, Path(tmp), groups, accounts)
                reached = runs[accounts]["opening_reached_all_s"]
                say(f"accounts: {accounts} account(s): last group reached after {reached} s")
        finally:
            if server is not None:
                server.cleanup()
    return _result(runs, len(groups))


def _result(runs: dict[int, dict[str, Any]], n_groups: int) -> Result:
    base = runs[1]["opening_reached_all_s"]
    speedup: dict[int, float | None] = {
        n: (base / r["opening_reached_all_s"] if base and r["opening_reached_all_s"] else None)
        for n, r in runs.items()
    }
    safe = all(
        r["sends_over_account_limit"] == 0
        and r["groups_printed_twice"] == 0
        and r["sent_by_account_not_in_group"] == 0
        and r["groups_printed_once"] == n_groups
        and not r["unexpected_exits"]
        for r in runs.values()
    )
    goals = [
        Goal(
            f"{n} accounts ≥ {EFFICIENCY * n:.1f}× faster than 1 (got {_x(speedup[n])})",
            (speedup[n] or 0.0) >= EFFICIENCY * n,
        )
        for n in runs
        if n > 1
    ]
    goals.append(Goal("every group got its opening once, each account within its own limits", safe))
    shown = ", ".join(
        f"{n} account{'s' if n > 1 else ''} {_s(r['opening_reached_all_s'])}" for n, r in runs.items()
    )
    top = max(runs)
    notes = [note for r in runs.values() for note in r["notes"]] + [
        f"{n} account(s): {exit_line}" for n, r in runs.items() for exit_line in r["unexpected_exits"]
    ]
    return Result(
        name="accounts",
        figure=f"opening post reached all {n_groups} groups after {shown} (scaled 1/{SCALE}: ×{SCALE} for WeChat time)",
        baseline=f"1 account {_s(base)}",
        ratio=speedup.get(top),
        goals=goals,
        details={"runs": runs, "speedup": speedup, "limits": LIMITS.__dict__, "scale": SCALE},
        notes=notes,
    )


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f}s"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def main(argv: list[str] | None = None) -> int:
    return cli("accounts", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
