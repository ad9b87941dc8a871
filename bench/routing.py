"""Routing, latency and stalls: group chatter through the app's inbound path, beside a bare regex loop.

The app is the production one, run by `App.run` as `tuanbot run` runs it: the
full `handlers.features.FEATURES` set, the inbound log in a SQLite file, the DEBUG log
file, the scheduler with a live campaign open in all 1,000 groups, the outbox
sending into an in-memory transport. Messages are delivered one at a time, as
the wechaty adapter's worker does, yielding to the event loop between them.

Rows (goal lines):
* routing: messages/s as fast as the app takes them. Only messages whose
  inbound-log row is committed count, and the clock runs until they are (read
  from a separate connection), so an inbound log written behind cannot flatter
  the figure. Baseline: a bare loop applying the same compiled patterns (the
  command regex and every handler's pattern) to the same texts.
* latency: p99 receipt → reply queued at 2,000 msg/s offered. Baseline: the
  same p99 in the throughput phase (no queueing behind other messages).
* stalls: the longest event-loop stall while routing, while paced, and during
  the campaign's per-minute monitor check (fired through the scheduler). The
  stall during the timeline burst is in `timeline_scale`. Baseline: the idle app.
  The details also count the garbage collector's full passes in each phase and the longest:
  a full pass holds the interpreter lock for as long as it walks every tracked object, so it
  stalls the loop whichever thread set it off (issue 14, docs/performance.md).
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import chat
from bench.common import (
    Goal,
    Heartbeat,
    Result,
    bare_patterns,
    bench_config,
    cli,
    group_ids,
    production_logging,
    run_monitor_now,
    say,
    start_bot,
    stop_bot,
    tagged_groups,
    thread_busy,
    thread_cpu,
    wait_campaigns_settled,
    wait_inbound,
    write_live_campaign,
)
from bot import event_loop

N_GROUPS = 1_000
FULL: dict[str, Any] = {"messages": 200_000, "max_seconds": 120.0, "paced_seconds": 20, "grace": 10.0}
QUICK: dict[str, Any] = {"messages": 20_000, "max_seconds": 10.0, "paced_seconds": 3, "grace": 5.0}
PACED_RATE = 2_000
DURABLE_WAIT_SECONDS = 5.0  # a write-behind gets this long to commit what was handled
GOAL_RATE = 10_000
GOAL_P99_MS = 50.0
GOAL_STALL_MS = 50.0


class FullCollections:
    """The cyclic garbage collector's full (oldest-generation) passes: how many, and the longest."""

    def __init__(self) -> None:
        self.count = 0
        self.longest_ms = 0.0
        self._started: dict[int, float] = {}

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        thread = threading.get_ident()
        if phase == "start":
            self._started[thread] = time.perf_counter()
        elif (started := self._started.pop(thread, None)) is not None:
            self.count += 1
            self.longest_ms = max(self.longest_ms, (time.perf_counter() - started) * 1000)

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)

    def take(self) -> dict[str, float]:
        """This phase's figures; the count starts again."""
        figures = {"count": self.count, "longest_ms": round(self.longest_ms, 1)}
        self.count, self.longest_ms = 0, 0.0
        return figures


def bare_loop_rate(texts: list[str], patterns: list[Any], repeats: int = 3) -> tuple[float, float]:
    """Messages/s and µs/message of applying `patterns` to every text (median of `repeats`)."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for text in texts:
            for pattern in patterns:
                pattern.search(text)
        rates.append(len(texts) / (time.perf_counter() - started))
    rate = sorted(rates)[len(rates) // 2]
    return rate, 1e6 / rate


async def _main(quick: bool, tmp: Path) -> list[Result]:
    size = QUICK if quick else FULL
    ids = group_ids(N_GROUPS)
    say(f"routing: generating {size['messages']:,} messages across {N_GROUPS:,} groups")
    messages = chat.make_messages(size["messages"], seed=8, prefix="m", groups=ids)
    paced_messages = chat.make_messages(PACED_RATE * size["paced_seconds"], seed=9, prefix="p", groups=ids)

    production_logging(tmp)
    config = bench_config(tmp, groups=tagged_groups(ids, lambda i: "all"))
    write_live_campaign(tmp)
    bot = await start_bot(config)
    heartbeat = Heartbeat()
    heartbeat.start()
    collections = FullCollections()
    collections.start()
    full_passes: dict[str, dict[str, float]] = {}
    say("routing: campaign opening in every group")
    await wait_campaigns_settled(bot)
    heartbeat.reset()
    collections.take()
    await asyncio.sleep(1.0)
    stalls = {"idle": heartbeat.max_stall_ms}
    full_passes["idle"] = collections.take()

    say(f"routing: throughput phase, up to {size['messages']:,} messages")
    heartbeat.reset()
    collections.take()
    cpu_before = thread_cpu()
    through = await chat.serial(bot, messages, size["max_seconds"], "routing throughput")
    through["thread_busy_percent"] = thread_busy(cpu_before, thread_cpu(), through["seconds"])
    waited = time.perf_counter()
    durable = await wait_inbound(bot.db_path, "m", through["messages"], DURABLE_WAIT_SECONDS)
    through["durable_wait_seconds"] = time.perf_counter() - waited
    through["durable"] = durable
    through["rate"] = durable / (through["seconds"] + through["durable_wait_seconds"])
    stalls["throughput"] = heartbeat.max_stall_ms
    full_passes["throughput"] = collections.take()
    say(
        f"routing: {through['rate']:,.0f} msg/s durable ({durable:,} of {through['messages']:,} logged), "
        f"handle p99 {through['handle_p99_ms']:.2f} ms"
    )

    say(f"routing: paced phase, {PACED_RATE:,} msg/s offered for {size['paced_seconds']}s")
    heartbeat.reset()
    collections.take()
    paced = await chat.paced(bot, paced_messages, PACED_RATE, grace=size["grace"], label="routing paced")
    stalls["paced"] = heartbeat.max_stall_ms
    full_passes["paced"] = collections.take()
    say(
        f"routing: paced reply p99 {paced['reply_p99_ms']:,.1f} ms, handle p99 {paced['handle_p99_ms']:,.1f} ms"
    )

    say("routing: the campaign's monitor check, fired now through the scheduler")
    heartbeat.reset()
    collections.take()
    monitor_s = await run_monitor_now(bot, "live")
    await asyncio.sleep(0.2)
    stalls["monitor check"] = heartbeat.max_stall_ms
    full_passes["monitor check"] = collections.take()
    collections.stop()
    say(f"routing: monitor check took {monitor_s:.2f}s, longest stall {stalls['monitor check']:.0f} ms")
    await heartbeat.stop()
    patterns = bare_patterns(bot)
    await stop_bot(bot)

    say(f"routing: baseline, bare loop of {len(patterns)} compiled patterns over the same texts")
    base_rate, base_us = bare_loop_rate([m.text for m in messages], patterns)
    return [
        _routing_row(through, base_rate, base_us, len(patterns), size["messages"]),
        _latency_row(through, paced),
        _stalls_row(stalls, monitor_s, full_passes),
    ]


def _routing_row(
    through: dict[str, Any], base_rate: float, base_us: float, patterns: int, count: int
) -> Result:
    rate = through["rate"]
    notes = []
    if through["time_capped"]:
        notes.append(
            f"measured on the first {through['messages']:,} of {count:,} messages (time cap keeps the suite short)"
        )
    if through["durable"] < through["messages"]:
        notes.append(
            f"only {through['durable']:,} of {through['messages']:,} handled messages had their inbound-log "
            f"row committed {DURABLE_WAIT_SECONDS:.0f}s after the last; only those count"
        )
    busy = through.get("thread_busy_percent") or {}
    if busy:
        notes.append(
            "threads' CPU over the phase (% of one core): "
            + ", ".join(f"{name} {share:.0f}" for name, share in busy.items())
            + " (the event-loop thread below 100 % is waiting for the interpreter lock)"
        )
    if through["handler_failures"]:
        notes.append(f"handler failures during the run: {through['handler_failures']}")
    return Result(
        name="routing",
        figure=(
            f"{rate:,.0f} msg/s end to end ({through['durable']:,} msgs durably logged, {N_GROUPS:,} groups: "
            f"handled at {through['messages'] / through['seconds']:,.0f} msg/s, the inbound log durable "
            f"{through['durable_wait_seconds']:.1f} s after the last), "
            f"receipt→handled p50 {through['handle_p50_ms']:.2f} ms p99 {through['handle_p99_ms']:.2f} ms"
        ),
        baseline=f"bare regex loop {base_rate:,.0f} msg/s ({base_us:.2f} µs/msg, {patterns} patterns)",
        ratio=rate / base_rate,
        goals=[Goal(f"≥ {GOAL_RATE:,} msg/s (got {rate:,.0f})", rate >= GOAL_RATE)],
        details={"throughput": through, "baseline_rate": base_rate, "baseline_us_per_msg": base_us},
        notes=notes,
    )


def _latency_row(through: dict[str, Any], paced: dict[str, Any]) -> Result:
    lower = "≥" if paced["p99_is_lower_bound"] else ""
    p99 = paced["reply_p99_ms"]
    measured = paced["replies"] >= 0.05 * max(1, paced["handled"])  # questions and commands get replies
    notes = []
    if not measured:
        notes.append(
            f"only {paced['replies']} replies seen for {paced['handled']:,} messages: does the outbox still "
            "queue through bench.common.QUEUE_METHODS?"
        )
    if paced["unhandled_at_deadline"]:
        notes.append(
            f"{paced['unhandled_at_deadline']:,} of {paced['offered']:,} messages still waiting "
            f"{paced['seconds']:.0f}s in; p99 is a lower bound"
        )
    return Result(
        name="latency",
        figure=(
            f"receipt→reply queued p99 {lower}{p99:,.1f} ms at {PACED_RATE:,} msg/s offered "
            f"({paced['replies']:,} replies; receipt→handled p99 {lower}{paced['handle_p99_ms']:,.1f} ms, "
            f"achieved {paced['achieved_rate']:,.0f} msg/s)"
        ),
        baseline=f"unpaced receipt→reply queued p99 {through['reply_p99_ms']:.2f} ms",
        ratio=p99 / through["reply_p99_ms"] if through["reply_p99_ms"] else None,
        goals=[
            Goal(
                f"p99 ≤ {GOAL_P99_MS:.0f} ms at {PACED_RATE:,} msg/s (got {lower}{p99:,.0f} ms)",
                p99 <= GOAL_P99_MS if measured else None,
            )
        ],
        details={"paced": paced},
        notes=notes,
    )


def _stalls_row(
    stalls: dict[str, float], monitor_s: float, full_passes: dict[str, dict[str, float]]
) -> Result:
    worst = max(v for k, v in stalls.items() if k != "idle")
    shown = ", ".join(f"{k} {v:,.0f} ms" for k, v in stalls.items() if k != "idle")
    return Result(
        name="stalls",
        figure=f"longest event-loop stall {worst:,.0f} ms ({shown}; timeline burst: see timeline_burst)",
        baseline=f"idle app {stalls['idle']:.0f} ms",
        ratio=worst / stalls["idle"] if stalls["idle"] else None,
        goals=[Goal(f"stall ≤ {GOAL_STALL_MS:.0f} ms (longest {worst:,.0f} ms)", worst <= GOAL_STALL_MS)],
        details={"max_stall_ms": stalls, "monitor_check_seconds": monitor_s, "gc_full_passes": full_passes},
    )


def run(quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-routing-") as tmp:
        return event_loop.run(_main(quick, Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    return cli("routing", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
