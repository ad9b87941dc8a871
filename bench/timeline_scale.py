"""Timeline burst: 100 openings (10,000 posts) due in the same second, while the groups chat.

100 campaign files, each targeting 100 of the 10,000 configured groups by tag,
on the real scheduler with its SQLAlchemy job store on the bot's SQLite file,
run by `App.run` as `tuanbot run` runs it.

Phases:
1. start-up with every campaign a few days ahead (10 nodes each);
2. quiet chat: 500 msg/s offered in those groups (the baseline);
3. burst: every campaign file is re-saved (hot reload, as the file watcher
   does) so its opening falls due in the same second T a few seconds ahead. From
   T-1 s, chat goes on at 500 msg/s until every opening post is queued. An
   opening post counts when the outbox queues it (seen through the outbox tap;
   its text carries a marker), so the figure is the time from T until the last
   of the 10,000 is queued; chat latency is receipt → reply queued; the stall is
   the longest event-loop stall from T-1 s to the end.

Baseline: the same chat with no burst (phase 2). Parsing and compiling the
campaigns alone, and the start-up time, are reported in the details, with the
cyclic collector's full passes per phase (`gc_full_passes`: a full pass holds
the interpreter lock, docs/performance.md) and the fan-out lane's chunk
transactions and write-lock polls during the burst (`fanout_lane`).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench import chat
from bench.common import (
    Goal,
    Heartbeat,
    Post,
    Result,
    bench_config,
    campaign_yaml,
    cli,
    compile_campaign,
    group_ids,
    missed_jobs,
    production_logging,
    reload_campaign,
    rss_mb,
    say,
    start_bot,
    stop_bot,
    tagged_groups,
)
from bench.routing import FullCollections
from bot import event_loop

FULL: dict[str, Any] = {"groups": 10_000, "campaigns": 100, "quiet_seconds": 5, "timeout": 120.0}
QUICK: dict[str, Any] = {"groups": 2_000, "campaigns": 20, "quiet_seconds": 2, "timeout": 25.0}
CHAT_RATE = 500
CHAT_MEMBERS = 20_000
MARK = "【整点开团】"
GOAL_QUEUED_SECONDS = 5.0
GOAL_CHAT_P99_MS = 100.0
GOAL_STALL_MS = 50.0


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
            open_text=f"{MARK}开团啦！回复“商品编号 数量”接龙下单",
        )
        path = directory / f"c{k:03d}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


async def _main(quick: bool, tmp: Path) -> Result:
    size = QUICK if quick else FULL
    n_groups, n_campaigns = size["groups"], size["campaigns"]
    per = n_groups // n_campaigns
    expected = n_campaigns * per
    production_logging(tmp)
    ids = group_ids(n_groups)
    config = bench_config(tmp, groups=tagged_groups(ids, lambda i: f"t{i // per:03d}"))
    campaigns_dir = config.path(config.campaigns_dir)
    say(f"timeline: {n_campaigns} campaigns x {per} groups; generating chat")
    burst_groups = ids[: per * n_campaigns]
    quiet_msgs = chat.make_messages(
        CHAT_RATE * size["quiet_seconds"], seed=3, prefix="q", groups=burst_groups, members=CHAT_MEMBERS
    )
    burst_msgs = chat.make_messages(
        int(CHAT_RATE * (size["timeout"] + 2)), seed=4, prefix="b", groups=burst_groups, members=CHAT_MEMBERS
    )

    paths = write_campaigns(
        campaigns_dir, n_campaigns, datetime.now().astimezone() + timedelta(days=3), burst=False
    )
    started = time.perf_counter()
    nodes = sum(len(compile_campaign(p.read_text(encoding="utf-8"), str(p))) for p in paths)
    compile_s = time.perf_counter() - started
    say(f"timeline: parse + compile alone {compile_s:.2f}s ({nodes:,} nodes)")

    bot = await start_bot(config)
    say(f"timeline: start-up (load + schedule) {bot.startup_seconds:.2f}s, RSS {rss_mb():.0f} MB")
    heartbeat = Heartbeat(0.005)
    heartbeat.start()
    collections = FullCollections()
    collections.start()
    full_passes: dict[str, dict[str, float]] = {}
    say(f"timeline: quiet chat, {CHAT_RATE} msg/s for {size['quiet_seconds']}s")
    quiet = await chat.paced(bot, quiet_msgs, CHAT_RATE, grace=5.0, label="timeline quiet chat")
    quiet_stall = heartbeat.max_stall_ms
    full_passes["quiet chat"] = collections.take()

    opening: list[Post] = []
    bot.tap.listeners.append(lambda posts: opening.extend(p for p in posts if MARK in p.text))
    missed = missed_jobs(bot)
    now = datetime.now().astimezone()
    t_due = (now + timedelta(seconds=5)).replace(microsecond=0) + timedelta(seconds=1)
    t_perf = time.perf_counter() + (t_due - now).total_seconds()
    say(f"timeline: burst, re-saving {n_campaigns} campaigns so all open at {t_due:%H:%M:%S}")
    reload_started = time.perf_counter()
    for path in write_campaigns(campaigns_dir, n_campaigns, t_due, burst=True):
        reload_campaign(bot, path)
    reload_s = time.perf_counter() - reload_started
    if time.perf_counter() > t_perf - 1:
        say(f"timeline: warning: the reload took {reload_s:.1f}s and ended less than 1s before T")
    await asyncio.sleep(max(0.0, t_perf - 1 - time.perf_counter()))
    heartbeat.reset()
    collections.take()
    lane = bot.registry.fanout_lane
    lane_before = (lane.chunks, lane.lock_polls)

    def done() -> bool:
        now = time.perf_counter()
        return (len(opening) >= expected and now > t_perf) or now > t_perf + size["timeout"]

    burst = await chat.paced(bot, burst_msgs, CHAT_RATE, grace=5.0, label="timeline burst chat", stop=done)
    stall = heartbeat.max_stall_ms
    full_passes["burst"] = collections.take()
    collections.stop()
    fanout = {"chunks": lane.chunks - lane_before[0], "lock_polls": lane.lock_polls - lane_before[1]}
    await heartbeat.stop()
    last = max((p.at for p in opening), default=t_perf + size["timeout"]) - t_perf
    first = min((p.at for p in opening), default=t_perf) - t_perf
    rss_end = rss_mb()
    await stop_bot(bot)
    say(f"timeline: {len(opening):,}/{expected:,} opening posts queued, the last {last:.1f}s after T")

    p99, base_p99 = burst["reply_p99_ms"], quiet["reply_p99_ms"]
    lower = "≥" if burst["p99_is_lower_bound"] else ""
    node_missed = [j for j in missed if j.startswith("campaign")]
    all_queued = len(opening) >= expected
    goals = [
        Goal(
            f"all {expected:,} posts queued ≤ {GOAL_QUEUED_SECONDS:.0f}s after T "
            f"({len(opening):,} queued, last {last:.1f}s after T)",
            all_queued and last <= GOAL_QUEUED_SECONDS,
        ),
        Goal(f"chat p99 ≤ {GOAL_CHAT_P99_MS:.0f} ms (got {lower}{p99:,.0f} ms)", p99 <= GOAL_CHAT_P99_MS),
        Goal(f"stall ≤ {GOAL_STALL_MS:.0f} ms (longest {stall:,.0f} ms)", stall <= GOAL_STALL_MS),
    ]
    figure = (
        f"{n_campaigns} openings ({expected:,} posts, {n_groups:,} groups) due at T: first queued "
        f"{first:.2f}s, last {last:.1f}s after T; chat at {CHAT_RATE}/s receipt→reply p99 {lower}{p99:,.0f} ms "
        f"({burst['replies']:,} replies); longest stall {stall:,.0f} ms"
    )
    notes = []
    if node_missed:
        notes.append(f"{len(node_missed)} campaign jobs dropped by APScheduler as misfired")
    if not all_queued:
        notes.append(
            f"only {len(opening):,} of {expected:,} opening posts queued {size['timeout']:.0f}s after T"
        )
    return Result(
        name="timeline_burst",
        figure=figure,
        baseline=f"same chat, no burst: p99 {base_p99:,.0f} ms, longest stall {quiet_stall:,.0f} ms",
        ratio=p99 / base_p99 if base_p99 else None,
        goals=goals,
        details={
            "groups": n_groups,
            "campaigns": n_campaigns,
            "nodes": nodes,
            "compile_seconds": compile_s,
            "startup_seconds": bot.startup_seconds,
            "hot_reload_seconds": reload_s,
            "first_post_after_t_s": first,
            "last_post_after_t_s": last,
            "posts_queued": len(opening),
            "max_stall_ms": stall,
            "gc_full_passes": full_passes,
            "fanout_lane": fanout,
            "missed_jobs": missed,
            "rss_mb_after_burst": rss_end,
            "quiet_chat": quiet,
            "burst_chat": burst,
        },
        notes=notes,
    )


def run(quick: bool) -> Result:
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-timeline-") as tmp:
        return event_loop.run(_main(quick, Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    return cli("timeline_scale", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
