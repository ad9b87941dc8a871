"""Timeline scale: campaigns covering 10,000 groups, 10 nodes each, on the real scheduler.

100 campaign files, each targeting 100 of the 10,000 configured groups by tag
(10 nodes per campaign: 2 preheats, 3 countdowns, open, a broadcast, close, 2
follow-ups), so 1,000 node jobs in APScheduler's SQLAlchemy job store on the
bot's SQLite file, and 100,000 (node, group) posts ahead.

Phases:
1. start-up: build the app and run its start-up hooks (scheduler start, load
   and schedule every campaign file) on a fresh database;
2. restart: stop, build a new app on the same database and start again
   (the job store already holds every job);
3. burst: every campaign is edited (hot reload) so that its opening falls due in
   the same second a few seconds ahead: 100 node jobs, each fanning out to its
   100 groups through the outbox (10,000 posts). Real scheduler, system clock.
   Lateness is when each job body starts, against its node's time; the fan-out
   time is until the last group's post is queued. Misfires are counted from
   APScheduler's missed-job events and from the ledger.

Baseline: `compile_timeline` alone for the same campaigns (parsing and
compiling, no storage or scheduler), measured in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    Goal,
    Heartbeat,
    LeanTransport,
    Result,
    bench_config,
    campaign_yaml,
    cli,
    feature_modules,
    group_ids,
    percentile,
    production_logging,
    rss_mb,
    say,
    tagged_groups,
)

FULL = {"groups": 10_000, "campaigns": 100}
QUICK = {"groups": 2_000, "campaigns": 20}
GOAL_LOAD_SECONDS = 10.0
GOAL_P99_SECONDS = 1.0
BURST_TIMEOUT = 240.0


def write_campaigns(directory: Path, count: int, opens_at: datetime, *, burst: bool) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        text = campaign_yaml(
            f"c{k:03d}",
            opens_at=opens_at,
            closes_at=opens_at + timedelta(days=1),
            group_tags=[f"t{k:03d}"],
            # A burst campaign has nothing before its opening, so only the openings fall due together.
            preheat_marks=() if burst else ("T-2d", "T-1d"),
            countdowns=() if burst else ("T-10m", "T-5m", "T-1m"),
        )
        path = directory / f"c{k:03d}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


async def _start(config: Any, clock: Any) -> tuple[Any, Any, float]:
    """Build the app with the scheduler and run its start-up hooks; seconds for the hooks."""
    from bot.app import App
    from bot.startup import install_features

    app = App.build(config, clock=clock, features=feature_modules())
    registry = install_features(app, persistent_jobs=True, watch=False)
    transport = LeanTransport(clock.now)
    app.transport = transport  # type: ignore[assignment]
    app.services.outbox.attach(transport)  # type: ignore[arg-type]
    started = time.perf_counter()
    for hook in app.startup_hooks:
        await hook(app)
    return app, registry, time.perf_counter() - started


async def _stop(app: Any) -> None:
    for hook in app.shutdown_hooks:
        await hook(app)
    app.services.repo.engine.dispose()


def _job_count(registry: Any) -> int:
    return sum(1 for job in registry.scheduler.get_jobs() if job.id.startswith("campaign:"))


async def _main(quick: bool, tmp: Path) -> Result:
    from apscheduler.events import EVENT_JOB_MISSED
    from sqlalchemy import text

    from bot.campaign import compile_timeline, parse_campaign
    from bot.clock import SystemClock

    size = QUICK if quick else FULL
    n_groups, n_campaigns = size["groups"], size["campaigns"]
    production_logging(tmp)
    ids = group_ids(n_groups)
    per = n_groups // n_campaigns
    config = bench_config(tmp, groups=tagged_groups(ids, lambda i: f"t{i // per:03d}"))
    campaigns_dir = config.path(config.campaigns_dir)
    clock = SystemClock()
    rss_before = rss_mb()

    # Baseline: parse + compile the same campaign files, nothing else.
    paths = write_campaigns(campaigns_dir, n_campaigns, clock.now() + timedelta(days=3), burst=False)
    started = time.perf_counter()
    nodes = 0
    for path in paths:
        nodes += len(compile_timeline(parse_campaign(path.read_text(encoding="utf-8"), str(path))))
    baseline_s = time.perf_counter() - started
    say(f"timeline: baseline, parse + compile {n_campaigns} campaigns ({nodes:,} nodes) in {baseline_s:.2f}s")

    say(f"timeline: start-up with {n_campaigns} campaigns x {per} groups ({n_groups:,} groups)")
    app, registry, startup_s = await _start(config, clock)
    jobs = _job_count(registry)
    rss_loaded = rss_mb()
    say(f"timeline: start-up load + schedule {startup_s:.2f}s, {jobs:,} node jobs, RSS {rss_loaded:.0f} MB")
    await _stop(app)

    say("timeline: restart on the same database")
    app, registry, restart_s = await _start(config, clock)
    jobs_after = _job_count(registry)
    say(f"timeline: restart load + schedule {restart_s:.2f}s, {jobs_after:,} node jobs")

    # Burst: hot-reload every file so every opening falls due in the same second.
    missed: list[str] = []
    assert registry.scheduler is not None
    registry.scheduler.add_listener(lambda e: missed.append(e.job_id), EVENT_JOB_MISSED)
    finished: list[tuple[str, str, float, float, float]] = []  # campaign, node, fire, start, end (epoch)
    original_run_node = registry.run_node

    async def run_node(campaign_id: str, node_id: str) -> Any:
        begin = time.time()
        outcome = await original_run_node(campaign_id, node_id)
        if outcome is not None:
            finished.append((campaign_id, node_id, outcome.scheduled_at.timestamp(), begin, time.time()))
        return outcome

    registry.run_node = run_node  # type: ignore[method-assign]
    sender = asyncio.create_task(app.services.outbox.run(), name="outbox")
    heartbeat = Heartbeat(0.01)
    heartbeat.start()
    lead = max(5.0, restart_s * 1.5 + 3.0)
    t0 = (clock.now() + timedelta(seconds=lead)).replace(microsecond=0) + timedelta(seconds=1)
    say(f"timeline: burst, reloading {n_campaigns} campaigns so all open at {t0:%H:%M:%S} (in {lead:.0f}s)")
    reload_started = time.perf_counter()
    for path in write_campaigns(campaigns_dir, n_campaigns, t0, burst=True):
        registry.load_file(path)
    reload_s = time.perf_counter() - reload_started
    say(f"timeline: hot reload of {n_campaigns} files took {reload_s:.2f}s")
    if clock.now() >= t0:
        say("timeline: warning: the reload ended after the burst time; lateness includes it")
    heartbeat.reset()
    deadline = time.monotonic() + lead + BURST_TIMEOUT
    last_report = time.monotonic()
    while time.monotonic() < deadline:
        opens = [f for f in finished if f[1] == "open"]
        if len(opens) >= n_campaigns:
            break
        if time.monotonic() - last_report > 3:
            last_report = time.monotonic()
            say(
                f"timeline: burst: {len(opens)}/{n_campaigns} openings done, outbox {app.services.outbox.pending():,}"
            )
        await asyncio.sleep(0.05)
    opens = [f for f in finished if f[1] == "open"]
    with app.services.repo.engine.connect() as conn:
        ledger = dict(
            conn.execute(
                text("SELECT status, COUNT(*) FROM timeline_ledger WHERE node_id = 'open' GROUP BY status")
            ).all()
        )
    lateness = [start - fire for _, _, fire, start, _ in opens]
    fanout = [end - start for _, _, _, start, end in opens]
    last_post = max((end for *_, end in opens), default=t0.timestamp()) - t0.timestamp()
    stall_ms = heartbeat.max_stall * 1000
    await heartbeat.stop()
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sender
    rss_end = rss_mb()
    await _stop(app)

    node_missed = [j for j in missed if j.startswith("campaign:")]
    other_missed = sorted({j.split(":", 1)[0] for j in missed if not j.startswith("campaign:")})
    posted = int(ledger.get("posted", 0))
    skipped = int(ledger.get("skipped", 0))
    expected_posts = n_campaigns * per
    p50, p99 = percentile(lateness, 50), percentile(lateness, 99)
    slowest = max(startup_s, restart_s)
    goals = [
        Goal(
            f"load + schedule ≤ {GOAL_LOAD_SECONDS:.0f}s (start-up {startup_s:.1f}s, restart {restart_s:.1f}s)",
            slowest <= GOAL_LOAD_SECONDS,
        ),
        Goal(
            f"lateness p99 ≤ {GOAL_P99_SECONDS:.0f}s (got {p99:.2f}s)",
            p99 <= GOAL_P99_SECONDS and bool(opens),
        ),
        Goal(
            f"no node skipped as misfired ({len(node_missed)} missed node jobs, {skipped} skipped posts, "
            f"{posted:,}/{expected_posts:,} posted)",
            not node_missed and skipped == 0 and posted == expected_posts,
        ),
    ]
    figure = (
        f"load+schedule {startup_s:.1f}s at start-up, {restart_s:.1f}s after restart ({jobs:,} jobs, "
        f"{n_groups:,} groups); burst of {n_campaigns} same-second nodes: lateness p50 {p50:.2f}s "
        f"p99 {p99:.2f}s, last of {expected_posts:,} posts queued {last_post:.1f}s after T; "
        f"RSS {rss_loaded:.0f} MB"
    )
    notes = []
    if len(missed) > len(node_missed):
        notes.append(
            f"{len(missed) - len(node_missed)} other jobs ({', '.join(other_missed)}) missed their grace "
            f"while the fan-out held the event loop (longest stall {stall_ms / 1000:.1f}s)"
        )
    if len(opens) < n_campaigns:
        notes.append(f"only {len(opens)} of {n_campaigns} opening jobs finished within the timeout")
    return Result(
        name="timeline_scale",
        figure=figure,
        baseline=f"parse+compile alone {baseline_s:.2f}s",
        ratio=baseline_s / slowest if slowest else None,
        goals=goals,
        details={
            "groups": n_groups,
            "campaigns": n_campaigns,
            "groups_per_campaign": per,
            "nodes": nodes,
            "jobs_after_startup": jobs,
            "jobs_after_restart": jobs_after,
            "startup_seconds": startup_s,
            "restart_seconds": restart_s,
            "hot_reload_seconds": reload_s,
            "baseline_seconds": baseline_s,
            "rss_mb_before": rss_before,
            "rss_mb_loaded": rss_loaded,
            "rss_mb_after_burst": rss_end,
            "lateness_p50_s": p50,
            "lateness_p99_s": p99,
            "lateness_max_s": max(lateness, default=0.0),
            "fanout_per_job_p50_s": percentile(fanout, 50),
            "fanout_per_job_max_s": max(fanout, default=0.0),
            "last_post_after_t_s": last_post,
            "max_stall_ms": stall_ms,
            "missed_node_jobs": len(node_missed),
            "missed_other_jobs": len(missed) - len(node_missed),
            "missed_other_kinds": other_missed,
            "ledger_open": ledger,
        },
        notes=notes,
    )


def run(quick: bool) -> Result:
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-timeline-") as tmp:
        return asyncio.run(_main(quick, Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    return cli("timeline_scale", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
