"""Memory: resident set size with 10,000 groups, 500,000 members and a campaign live.

Each measurement runs in a fresh child process, so nothing else's memory counts:

* baseline: the app as it starts with no groups, no members and no campaign
  (full handler set, scheduler with its SQLAlchemy job store, outbox running);
* full: 10,000 groups in config.yaml (each with a leader and a tag), 500,000
  members and 500,000 memberships in the database, a campaign covering every
  group loaded and scheduled, its 10,000 opening posts queued in the outbox,
  a sample of chat routed so each feature's lazy caches exist, and the app's
  per-member bookkeeping at the size it reaches once every member has spoken
  (the inbound recorder's known members and groups, the router's duplicate window, the
  role cache of every group, the welcome feature's set of members already checked).

RSS is VmRSS from /proc/self/status after a garbage collection; the peak
(VmHWM) is reported too.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    REPO_ROOT,
    Goal,
    Result,
    bench_config,
    campaign_yaml,
    cli,
    feature_modules,
    group_ids,
    group_name,
    peak_rss_mb,
    production_logging,
    rss_mb,
    say,
    start_bot,
    stop_bot,
)
from bot import event_loop
from bot.events import GroupMessage, Member

FULL = {"groups": 10_000, "members": 500_000}
QUICK = {"groups": 2_000, "members": 100_000}
GOAL_MB = 300.0
SAMPLE_MESSAGES = 300
SAMPLE_MAX_SECONDS = 20.0  # routing is slow with 10,000 groups; a few messages create the caches
DEDUPE_WINDOW = 50_000
CHILD_TIMEOUT = 300


def _member_id(index: int) -> str:
    return f"wxid_{(index * 2_654_435_761) % 10**12:012d}"


def _populate(db_path: Path, groups: list[str], members: int) -> None:
    """Groups, members and memberships written straight into the app's tables (fast, like a restore)."""
    stamp = datetime.now(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.executemany(
        "INSERT INTO groups (id, name, member_count, bot_present, updated_at) VALUES (?, ?, ?, 1, ?)",
        [(gid, group_name(i), members // len(groups), stamp) for i, gid in enumerate(groups)],
    )
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    batch = 50_000
    for start in range(0, members, batch):
        rows = range(start, min(members, start + batch))
        db.executemany(
            "INSERT INTO members (id, name, updated_at) VALUES (?, ?, ?)",
            [(_member_id(i), f"{surnames[i % 20]}{'姐' if i % 3 else '哥'}{i % 997}", stamp) for i in rows],
        )
        db.executemany(
            "INSERT INTO memberships (group_id, member_id, first_seen_at, joined_at) VALUES (?, ?, ?, ?)",
            [(groups[i % len(groups)], _member_id(i), stamp, stamp) for i in rows],
        )
    db.commit()
    db.close()


async def _child(kind: str, quick: bool, tmp: Path) -> dict[str, Any]:
    from bot.outbox import Draft
    from bot.storage.engine import init_db, make_engine
    from bot.vocab import Priority

    feature_modules()  # every feature imported before the first RSS reading
    production_logging(tmp)
    gc.collect()
    rss_imports = rss_mb()
    size = QUICK if quick else FULL
    full = kind == "full"
    ids = group_ids(size["groups"]) if full else []
    members = size["members"] if full else 0
    groups_config = {
        gid: {"name": group_name(i), "leaders": [_member_id(i)], "tags": ["live"]}
        for i, gid in enumerate(ids)
    }
    config = bench_config(tmp, groups=groups_config)
    started = time.perf_counter()
    if full:
        engine = make_engine(config.database_url())
        init_db(engine)
        engine.dispose()
        _populate(tmp / "tuanbot.db", ids, members)
        campaigns = tmp / "campaigns"
        campaigns.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        (campaigns / "live.yaml").write_text(
            campaign_yaml(
                "live",
                opens_at=now + timedelta(hours=1),
                closes_at=now + timedelta(days=1),
                group_tags=["live"],
                preheat_marks=(),
            ),
            encoding="utf-8",
        )
    populate_s = time.perf_counter() - started

    stages: dict[str, float] = {}

    def stage(name: str) -> None:
        gc.collect()
        stages[name] = round(rss_mb(), 1)

    stage("imports + config")
    bot = await start_bot(config)  # App.run, as `tuanbot run` runs it
    app, clock = bot.app, bot.app.services.clock
    stage("app started, campaign loaded")
    routed = 0
    route_s = 0.0
    if full:
        outbox = app.services.outbox
        for start in range(0, len(ids), 1_000):  # the opening posts of a live campaign, not yet sent
            drafts = [
                Draft(
                    text="🎉 开团啦！回复“商品编号 数量”接龙下单，例如“A1 2”",
                    group_id=gid,
                    priority=Priority.CAMPAIGN,
                )
                for gid in ids[start : start + 1_000]
            ]
            outbox.enqueue_atomic(drafts, lambda conn: True)
        stage("opening posts queued")
        rng = random.Random(5)
        route_started = time.perf_counter()
        stop_at = route_started + SAMPLE_MAX_SECONDS
        for n in range(SAMPLE_MESSAGES):
            if time.perf_counter() > stop_at:
                break
            m = rng.randrange(members)
            gi = m % len(ids)
            text = rng.choice(
                ("今天的草莓真甜", "什么时候可以自提？", "接龙 A1 2", "/help", "草莓券", "A2 1")
            )
            await bot.deliver(
                GroupMessage(
                    f"mem{n:06d}",
                    ids[gi],
                    Member(_member_id(m), f"团员{m}"),
                    text,
                    clock.now(),
                    (),
                    group_name(gi),
                )
            )
            routed += 1
        route_s = time.perf_counter() - route_started
        stage("chat sample routed")
        # What the app holds once every member has spoken once and the duplicate window is full.
        # Streamed from a join: a dict of every member's name here (the bench's, not the app's)
        # left ~25 MB of freed arenas in the RSS read at the end.
        with sqlite3.connect(tmp / "tuanbot.db") as db:
            rows = db.execute(
                "SELECT ms.group_id, ms.member_id, m.name FROM memberships ms JOIN members m ON m.id = ms.member_id"
            )
            for group_id, member_id, name in rows:
                app.inbound.known_members[(group_id, member_id)] = name
        stage("App._known_members full")
        # Features keep their own per-member sets too (the welcome feature's "first message checked").
        from handlers.welcome.chat import _checked

        checked = _checked(app.services)  # bounded (an LRU): fill it to its bound
        for key in app.inbound.known_members.keys():  # noqa: SIM118 (an lru-dict LRU has no __iter__)
            checked[key] = True
        stage("welcome's checked cache full")
        for i, gid in enumerate(ids):
            app.inbound.known_groups[gid] = group_name(i)
            app.services.roles.leaders_of(gid)
        stage("groups and role caches full")
        seen = app.router.seen
        for n in range(DEDUPE_WINDOW):
            seen.first_time(f"3{n:018d}")
        stage("duplicate window full")
    await asyncio.sleep(0.5)
    gc.collect()
    rss = rss_mb()
    peak = peak_rss_mb()
    result = {
        "kind": kind,
        "groups": len(ids),
        "members": members,
        "rss_mb": rss,
        "peak_mb": peak,
        "rss_after_imports_mb": rss_imports,
        "known_members": len(app.inbound.known_members),
        "outbox_queued": app.services.outbox.pending(),
        "messages_routed": routed,
        "routing_seconds_per_message": round(route_s / routed, 4) if routed else None,
        "populate_seconds": round(populate_s, 1),
        "rss_stages_mb": stages,
    }
    await stop_bot(bot)
    return result


def _spawn(kind: str, quick: bool) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.memory", "--child", kind] + (["--quick"] if quick else [])
    proc = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            data: dict[str, Any] = json.loads(line)
            return data
    raise RuntimeError(f"memory child {kind} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def run(quick: bool) -> Result:
    say("memory: baseline child (empty app)")
    empty = _spawn("empty", quick)
    say(f"memory: empty app RSS {empty['rss_mb']:.0f} MB")
    size = QUICK if quick else FULL
    say(f"memory: full child ({size['groups']:,} groups, {size['members']:,} members, campaign live)")
    full = _spawn("full", quick)
    say(f"memory: full RSS {full['rss_mb']:.0f} MB (peak {full['peak_mb']:.0f} MB)")
    ok = full["rss_mb"] <= GOAL_MB
    return Result(
        name="memory",
        figure=(
            f"RSS {full['rss_mb']:.0f} MB (peak {full['peak_mb']:.0f} MB) with {full['groups']:,} groups, "
            f"{full['members']:,} members, a campaign live"
        ),
        baseline=f"empty app {empty['rss_mb']:.0f} MB",
        ratio=full["rss_mb"] / empty["rss_mb"],
        goals=[Goal(f"≤ {GOAL_MB:.0f} MB (got {full['rss_mb']:.0f} MB)", ok)],
        details={"empty": empty, "full": full},
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--child" in argv:
        kind = argv[argv.index("--child") + 1]
        quick = "--quick" in argv
        with tempfile.TemporaryDirectory(prefix=f"tuanbot-bench-mem-{kind}-") as tmp:
            data = event_loop.run(_child(kind, quick, Path(tmp)))
        print(json.dumps(data), flush=True)
        return 0
    return cli("memory", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
