"""Outbox under a storm: opening posts to 100 groups plus 5,000 order posts within a minute.

On a fake clock (pacing is real, waiting is instant): at T-0 the opening post
is queued to each of 100 groups (as the timeline's `open` node does, one
transaction per group), and over the following minute 5,000 order-time posts
arrive, queued the way the selling feature queues them: the group's 接龙 list
(`replace_key` chain, 5 s window), refusal notices (`replace_key` notice, 3 s)
and stock posts (`replace_key` stock). The outbox is pumped as its run loop
would, until everything has left.

Checked from the transport's own log of what left and when:
* no two posts to one group closer than `group_interval_seconds` (3 s);
* never more than `account_per_minute` (30) posts in any 60 s.

Reported: when the opening post reached the last group, beside the physical
limit set by the account rate alone (100 posts at 30/min: the 100th cannot
leave before 180 s); how many posts coalescing saved.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    Goal,
    LeanTransport,
    Progress,
    Result,
    bench_config,
    cli,
    feature_modules,
    group_ids,
    production_logging,
    say,
    tagged_groups,
)
from bot import event_loop

N_GROUPS = 100
N_POSTS = 5_000
WINDOW_SECONDS = 60.0
MAX_FAKE_SECONDS = 24 * 3600.0
MAX_STEPS = 2_000_000
CHAIN_WINDOW = 5.0  # as handlers/selling/orders.py
NOTICE_WINDOW = 3.0


@dataclass(frozen=True)
class Arrival:
    at: float  # seconds after T
    group: int
    kind: str  # chain | notice | stock


def make_arrivals(count: int, seed: int = 4) -> list[Arrival]:
    """`count` order-time posts over a minute; a few hot groups get most of them."""
    rng = random.Random(seed)
    weights = [5 if g < 10 else 1 for g in range(N_GROUPS)]
    arrivals = []
    for _ in range(count):
        kind = rng.choices(("chain", "notice", "stock"), weights=(70, 15, 15))[0]
        arrivals.append(
            Arrival(rng.uniform(0, WINDOW_SECONDS), rng.choices(range(N_GROUPS), weights)[0], kind)
        )
    return sorted(arrivals, key=lambda a: a.at)


def check_limits(sent: list[tuple[Any, Any]], group_interval: float, per_minute: int) -> dict[str, Any]:
    """Count violations of the per-group interval and the per-account rate in what actually left."""
    last: dict[str, Any] = {}
    group_violations = 0
    min_gap = float("inf")
    for at, message in sent:
        target = message.group_id or message.member_id
        if target in last:
            gap = (at - last[target]).total_seconds()
            min_gap = min(min_gap, gap)
            if gap < group_interval - 1e-6:
                group_violations += 1
        last[target] = at
    times = [at for at, _ in sent]
    account_violations = 0
    max_in_window = 0
    start = 0
    for end in range(len(times)):
        while (times[end] - times[start]).total_seconds() >= 60:
            start += 1
        max_in_window = max(max_in_window, end - start + 1)
        if end - start + 1 > per_minute:
            account_violations += 1
    return {
        "group_violations": group_violations,
        "min_group_gap_s": min_gap if min_gap != float("inf") else None,
        "account_violations": account_violations,
        "max_sends_in_any_60s": max_in_window,
    }


async def _main(quick: bool, tmp: Path) -> Result:
    from bot.app import App
    from bot.outbox import Draft
    from bot.vocab import Priority
    from tests.fakes import FakeClock

    production_logging(tmp)
    ids = group_ids(N_GROUPS)
    config = bench_config(tmp, groups=tagged_groups(ids, lambda i: "storm"))
    clock = FakeClock()
    app = App.build(config, clock=clock, features=feature_modules())
    outbox = app.services.outbox
    transport = LeanTransport(clock.now)
    outbox.attach(transport)
    settings = config.outbox
    t0 = clock.now()
    arrivals = make_arrivals(N_POSTS // 5 if quick else N_POSTS)

    wall = time.perf_counter()
    for gid in ids:  # the open node: one transaction per group, ledger guard always passes here
        outbox.enqueue_atomic(
            [
                Draft(
                    text="🎉 开团啦！回复“商品编号 数量”接龙下单",
                    group_id=gid,
                    priority=Priority.CAMPAIGN,
                    kind="open",
                )
            ],
            lambda conn: True,
        )
    calls = N_GROUPS
    chain_n: dict[int, int] = {}
    next_arrival = 0
    steps = 0
    progress = Progress("outbox storm", len(arrivals), unit="post")
    while steps < MAX_STEPS:
        steps += 1
        now = clock.now()
        elapsed = (now - t0).total_seconds()
        while next_arrival < len(arrivals) and arrivals[next_arrival].at <= elapsed + 1e-6:
            a = arrivals[next_arrival]
            gid = ids[a.group]
            if a.kind == "chain":
                chain_n[a.group] = chain_n.get(a.group, 0) + 1
                outbox.enqueue(
                    f"接龙 ({chain_n[a.group]} 人)\n" + "\n".join(f"{i}. 团员 A1 1" for i in range(1, 6)),
                    group_id=gid,
                    replace_key="chain:storm",
                    delay=CHAIN_WINDOW,
                    priority=Priority.ORDER,
                    kind="chain",
                )
            elif a.kind == "notice":
                outbox.enqueue(
                    "@团员 A1 已售罄",
                    group_id=gid,
                    replace_key="notice",
                    delay=NOTICE_WINDOW,
                    priority=Priority.ORDER,
                    kind="notice",
                )
            else:
                outbox.enqueue(
                    "📦 库存：A1 仅剩 12 盒",
                    group_id=gid,
                    replace_key="stock:storm",
                    priority=Priority.CAMPAIGN,
                    kind="stock",
                )
            calls += 1
            next_arrival += 1
            progress.tick(next_arrival)
        delay = await outbox.pump()
        upcoming = arrivals[next_arrival].at if next_arrival < len(arrivals) else None
        if delay is None and upcoming is None:
            break
        target = elapsed + (delay if delay is not None else float("inf"))
        if upcoming is not None:
            target = min(target, upcoming)
        if target > MAX_FAKE_SECONDS:
            say("outbox storm: stopped at the fake-time bound with messages still queued")
            break
        clock.set(t0 + timedelta(seconds=max(target, elapsed)))
    wall = time.perf_counter() - wall
    app.services.repo.engine.dispose()

    sent = transport.sent
    checks = check_limits(sent, settings.group_interval_seconds, settings.account_per_minute)
    opens = [(at - t0).total_seconds() for at, m in sent if m.kind == "open"]
    open_last = max(opens) if len(opens) == N_GROUPS else float("inf")
    others_before_last_open = sum(
        1 for at, m in sent if m.kind != "open" and (at - t0).total_seconds() < open_last
    )
    # The account rate alone: 30 posts per rolling minute, so the 100th opening post leaves at 180 s at best.
    floor_s = ((N_GROUPS - 1) // settings.account_per_minute) * 60.0
    drained = (sent[-1][0] - t0).total_seconds() if sent else 0.0
    saved = outbox.stats.replaced
    by_kind: dict[str, int] = {}
    for _, m in sent:
        by_kind[m.kind] = by_kind.get(m.kind, 0) + 1
    safe = checks["group_violations"] == 0 and checks["account_violations"] == 0
    goals = [
        Goal(
            f"per-group ≥ {settings.group_interval_seconds:.0f}s and per-account ≤ {settings.account_per_minute}/min "
            f"never exceeded ({checks['group_violations']} + {checks['account_violations']} violations, "
            f"max {checks['max_sends_in_any_60s']} in any 60s)",
            safe,
        ),
        Goal(f"every opening post sent ({len(opens)}/{N_GROUPS})", len(opens) == N_GROUPS),
    ]
    figure = (
        f"opening post reached the last of {N_GROUPS} groups after {open_last:.0f}s; "
        f"{calls:,} posts queued, {len(sent):,} sent, coalescing saved {saved:,}; "
        f"all drained after {drained / 60:.0f} min (fake clock, {wall:.1f}s wall)"
    )
    return Result(
        name="outbox_storm",
        figure=figure,
        baseline=f"account-rate floor {floor_s:.0f}s for {N_GROUPS} posts at {settings.account_per_minute}/min",
        ratio=floor_s / open_last if open_last else None,
        goals=goals,
        details={
            "groups": N_GROUPS,
            "order_posts": len(arrivals),
            "enqueue_calls": calls,
            "sent": len(sent),
            "sent_by_kind": by_kind,
            "replaced": saved,
            "open_first_s": min(opens, default=None),
            "open_last_s": open_last,
            "other_posts_before_last_open": others_before_last_open,
            "drained_after_s": drained,
            "wall_seconds": wall,
            "pump_steps": steps,
            "settings": settings.model_dump(),
            **checks,
        },
    )


def run(quick: bool) -> Result:
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-storm-") as tmp:
        return event_loop.run(_main(quick, Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    return cli("outbox_storm", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
