"""Routing throughput: realistic group chatter through `App.handle_event`, beside a bare regex loop.

The app is the production one: the full `handlers.FEATURES` set, the inbound log
in a SQLite file, the DEBUG log file, the scheduler with a live campaign open in
all 1,000 groups, and the outbox's sender task running (into an in-memory
transport). Messages are read one at a time, as the wechaty adapter's worker
does, yielding to the event loop between messages the way a socket read would.

Phases:
1. throughput: as fast as the bot takes them;
2. paced: 1,000 messages/s offered, latency measured from each message's
   arrival time (so queueing behind a slow message counts);
3. baseline: a bare loop applying the same compiled patterns (the command
   regex and every handler's `HandlerSpec.pattern`) to the same texts.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    Goal,
    Heartbeat,
    LeanTransport,
    Progress,
    Result,
    bench_config,
    campaign_yaml,
    cli,
    feature_modules,
    group_ids,
    group_name,
    percentile,
    production_logging,
    say,
    tagged_groups,
)
from bot.events import GroupMessage, Member

N_GROUPS = 1_000
N_MEMBERS = 50_000
FULL_MESSAGES = 200_000
QUICK_MESSAGES = 20_000
PACED_RATE = 1_000
FULL_PACED_SECONDS = 20
QUICK_PACED_SECONDS = 5
# Time caps keep `python -m bench` inside its 10-minute budget when the bot is slow:
# the throughput phase then measures a fixed large sample, and says so.
FULL_MAX_SECONDS = 150.0
QUICK_MAX_SECONDS = 30.0
PACED_GRACE_SECONDS = 10.0
GOAL_RATE = 10_000
GOAL_P99_MS = 50.0
GOAL_STALL_MS = 100.0

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
NICKS = ("姐", "阿姨", "哥", "妈妈", "宝妈", "叔", "小妹", "老师", "🌸", "✨", "(3栋)", "(12-302)")

CHATTER = (
    "今天的草莓真甜，孩子吃了还想要",
    "收到",
    "谢谢团长[抱拳]",
    "哈哈哈哈哈",
    "早上好☀️",
    "[强][强][强]",
    "楼下快递站几点关门啊？",
    "昨天的橙子不错，汁很多，下次还买",
    "好的",
    "👍",
    "团长辛苦了🌹",
    "有没有人一起拼车去自提点",
    "我家娃就爱吃芒果🥭",
    "这周末下雨吗，出门记得带伞",
    "已付款",
    "在吗",
    "老板大气！",
    "上次买的苹果脆甜，推荐大家",
    "刚到家，明天再去拿",
    "群里好热闹啊",
    "有人知道小区门口新开的那家面馆怎么样吗？听说牛肉面不错，想周末带孩子去尝尝",
    "物业说明天上午停水，大家提前接点水哦～",
    "[图片]",
    "[表情]",
    "晚安🌙",
)
QUESTIONS = (
    "什么时候可以自提？",
    "在哪里提货",
    "草莓还有货吗",
    "可以送货上门吗",
    "坏果怎么办",
    "怎么下单",
    "优惠券怎么用",
    "脐橙甜不甜",
    "能开发票吗",
    "啥时候能取货呀",
    "团长，今天几点开团呀？",
    "满减怎么算",
)
COMMANDS = (
    "/help",
    "/帮助",
    "/whoami",
    "/help campaign",
    "/campaign list",
    "/stock",
    "/订单",
    "／ｈｅｌｐ",
)
KEYWORDS = ("草莓券", "抢", "抢红包", "我的订单")


def _member_id(index: int) -> str:
    return f"wxid_{(index * 2_654_435_761) % 10**12:012d}"


def _member_name(rng: random.Random, index: int) -> str:
    return SURNAMES[index % len(SURNAMES)] + NICKS[(index // len(SURNAMES)) % len(NICKS)]


def _order_text(rng: random.Random, name: str, n: int) -> str:
    code, qty = f"A{rng.randint(1, 5)}", rng.randint(1, 3)
    shape = rng.random()
    if shape < 0.35:
        return f"接龙 {code} {qty}"
    if shape < 0.65:
        return f"{code} {qty}"
    if shape < 0.75:
        return f"{code}×{qty}"
    if shape < 0.85:
        return f"{n}. {name} {code} {qty}"
    if shape < 0.95:
        return f"接龙 {code} {qty} A{rng.randint(1, 5)} 1"
    return "+1"


def make_messages(count: int, *, seed: int, prefix: str) -> list[GroupMessage]:
    """`count` group messages: ~55% chatter, 15% questions, 20% orders, 5% commands, 5% keywords."""
    rng = random.Random(seed)
    groups = group_ids(N_GROUPS)
    names = {i: _member_name(rng, i) for i in range(N_MEMBERS)}
    now = datetime.now(UTC)
    messages: list[GroupMessage] = []
    for n in range(count):
        # Active members say most: 70% of messages come from a fifth of them.
        who = rng.randrange(N_MEMBERS // 5) if rng.random() < 0.7 else rng.randrange(N_MEMBERS)
        home = who % N_GROUPS
        gi = home if rng.random() < 0.9 else rng.randrange(N_GROUPS)
        kind = rng.random()
        mentions: tuple[str, ...] = ()
        if kind < 0.55:
            text = rng.choice(CHATTER)
            if rng.random() < 0.05:
                other = rng.randrange(N_MEMBERS)
                text = f"@{names[other]} {text}"
                mentions = (_member_id(other),)
        elif kind < 0.70:
            text = rng.choice(QUESTIONS)
        elif kind < 0.90:
            text = _order_text(rng, names[who], n % 200 + 1)
        elif kind < 0.95:
            text = rng.choice(COMMANDS)
        else:
            text = rng.choice(KEYWORDS)
        messages.append(
            GroupMessage(
                message_id=f"{prefix}{n:07d}",
                group_id=groups[gi],
                sender=Member(_member_id(who), names[who]),
                text=text,
                time=now,
                mentions=mentions,
                group_name=group_name(gi),
            )
        )
    return messages


def bare_loop_rate(texts: list[str], patterns: list[Any], repeats: int = 3) -> tuple[float, float]:
    """Messages/s and µs/message of applying `patterns` to every text (median of `repeats`)."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        hits = 0
        for text in texts:
            for pattern in patterns:
                if pattern.search(text) is not None:
                    hits += 1
        elapsed = time.perf_counter() - started
        rates.append(len(texts) / elapsed)
    rate = sorted(rates)[len(rates) // 2]
    return rate, 1e6 / rate


class Meter:
    """Wraps the outbox's enqueue methods to time receipt -> "reply queued" for the current message."""

    def __init__(self, outbox: Any) -> None:
        self.receipt: float | None = None
        self.recorded = False
        self.reply_latencies: list[float] = []
        for attr in ("enqueue", "enqueue_atomic"):
            setattr(outbox, attr, self._wrap(getattr(outbox, attr)))

    def _wrap(self, original: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            value = original(*args, **kwargs)
            if self.receipt is not None and not self.recorded:
                self.reply_latencies.append(time.perf_counter() - self.receipt)
                self.recorded = True
            return value

        return wrapped

    def begin(self, receipt: float) -> None:
        self.receipt, self.recorded = receipt, False

    def end(self) -> None:
        self.receipt = None


async def _wait_for_open(registry: Any, timeout: float = 120.0) -> None:
    """Let the campaign's start-up jobs (opening posts to every group, skips of past nodes) finish."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(o.node_id == "open" for o in registry.outcomes):
            break
        await asyncio.sleep(0.1)
    else:
        say("routing: warning: the campaign's open node did not run within the timeout")
    previous = -1
    while time.monotonic() < deadline and len(registry.outcomes) != previous:
        previous = len(registry.outcomes)
        await asyncio.sleep(0.5)


async def _throughput(
    app: Any, meter: Meter, messages: list[GroupMessage], max_seconds: float
) -> dict[str, Any]:
    progress = Progress("routing throughput", len(messages), unit="msg")
    handled: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    latencies: list[float] = []
    meter.reply_latencies.clear()
    started = time.perf_counter()
    deadline = started + max_seconds
    capped = False
    for n, event in enumerate(messages):
        if n % 50 == 0 and time.perf_counter() > deadline:
            capped = True
            break
        receipt = time.perf_counter()
        meter.begin(receipt)
        result = await app.handle_event(event)
        meter.end()
        latencies.append(time.perf_counter() - receipt)
        handled[result.handled_by or ("duplicate" if result.duplicate else "none")] += 1
        failed.update(result.failed)
        await asyncio.sleep(0)  # a transport reads the next message from a socket: the loop runs
        if n % 1000 == 0:
            progress.tick(n, f"(outbox queue {app.services.outbox.pending():,})")
    elapsed = time.perf_counter() - started
    return {
        "messages": len(latencies),
        "offered": len(messages),
        "time_capped": capped,
        "seconds": round(elapsed, 2),
        "rate": len(latencies) / elapsed,
        "handle_p50_ms": percentile(latencies, 50) * 1000,
        "handle_p99_ms": percentile(latencies, 99) * 1000,
        "handle_max_ms": max(latencies) * 1000,
        "replies": len(meter.reply_latencies),
        "reply_p50_ms": percentile(meter.reply_latencies, 50) * 1000,
        "reply_p99_ms": percentile(meter.reply_latencies, 99) * 1000,
        "handled_by": dict(handled.most_common()),
        "handler_failures": dict(failed),
    }


async def _paced(app: Any, meter: Meter, messages: list[GroupMessage], rate: float) -> dict[str, Any]:
    """Offer `rate` messages/s; latency counts from each message's scheduled arrival.

    If the bot falls behind, the consumer stops `PACED_GRACE_SECONDS` after the last
    arrival; the messages still waiting count with the time they had waited by then
    (a lower bound), so the percentiles never flatter a bot that cannot keep up.
    """
    queue: asyncio.Queue[tuple[float, GroupMessage] | None] = asyncio.Queue()
    latencies: list[float] = []
    meter.reply_latencies.clear()
    progress = Progress("routing paced", len(messages), unit="msg")
    t0 = time.perf_counter() + 0.05
    deadline = t0 + len(messages) / rate + PACED_GRACE_SECONDS
    unhandled = 0

    async def produce() -> None:
        for n, event in enumerate(messages):
            due = t0 + n / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            queue.put_nowait((due, event))
        queue.put_nowait(None)

    async def consume() -> None:
        nonlocal unhandled
        done = 0
        while (item := await queue.get()) is not None:
            due, event = item
            if time.perf_counter() > deadline:
                latencies.append(deadline - due)
                unhandled += 1
                continue
            meter.begin(due)
            await app.handle_event(event)
            meter.end()
            latencies.append(time.perf_counter() - due)
            done += 1
            if done % 200 == 0:
                progress.tick(done, f"(backlog {queue.qsize():,})")

    await asyncio.gather(produce(), consume())
    elapsed = time.perf_counter() - t0
    handled = len(messages) - unhandled
    return {
        "offered_rate": rate,
        "messages": len(messages),
        "handled": handled,
        "unhandled_at_deadline": unhandled,
        "seconds": round(elapsed, 2),
        "achieved_rate": handled / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000,
        "p99_is_lower_bound": unhandled > 0,
        "replies": len(meter.reply_latencies),
        "reply_p50_ms": percentile(meter.reply_latencies, 50) * 1000,
        "reply_p99_ms": percentile(meter.reply_latencies, 99) * 1000,
    }


async def _main(quick: bool, tmp: Path) -> Result:
    from bot.app import App
    from bot.clock import SystemClock
    from bot.router import COMMAND_RE
    from bot.startup import install_features

    count = QUICK_MESSAGES if quick else FULL_MESSAGES
    paced_seconds = QUICK_PACED_SECONDS if quick else FULL_PACED_SECONDS
    say(f"routing: generating {count:,} messages across {N_GROUPS:,} groups / {N_MEMBERS:,} members")
    messages = make_messages(count, seed=8, prefix="m")
    paced_messages = make_messages(PACED_RATE * paced_seconds, seed=9, prefix="p")

    production_logging(tmp)
    ids = group_ids(N_GROUPS)
    config = bench_config(tmp, groups=tagged_groups(ids, lambda i: "all"))
    now = datetime.now(UTC)
    campaigns = tmp / "campaigns"
    campaigns.mkdir(parents=True, exist_ok=True)
    (campaigns / "live.yaml").write_text(
        campaign_yaml(
            "live",
            opens_at=now - timedelta(hours=2),
            closes_at=now + timedelta(days=1),
            group_tags=["all"],
            stock=10_000,
        ),
        encoding="utf-8",
    )
    clock = SystemClock()
    modules = feature_modules()
    app = App.build(config, clock=clock, features=modules)
    registry = install_features(app, persistent_jobs=True, watch=False)
    transport = LeanTransport(clock.now)
    app.transport = transport  # type: ignore[assignment]
    app.services.outbox.attach(transport)  # type: ignore[arg-type]
    for hook in app.startup_hooks:
        await hook(app)
    sender = asyncio.create_task(app.services.outbox.run(), name="outbox")
    heartbeat = Heartbeat()
    heartbeat.start()
    say(
        f"routing: {len(app.router.specs)} handler specs from {len(modules)} feature modules; campaign opening"
    )
    await _wait_for_open(registry)
    meter = Meter(app.services.outbox)

    say(f"routing: throughput phase, {count:,} messages")
    heartbeat.reset()
    through = await _throughput(app, meter, messages, QUICK_MAX_SECONDS if quick else FULL_MAX_SECONDS)
    through["max_stall_ms"] = heartbeat.max_stall * 1000
    through["stalls_over_100ms"] = heartbeat.stalls_over_100ms
    through["outbox_queued_after"] = app.services.outbox.pending()
    say(
        f"routing: {through['rate']:,.0f} msg/s, handle p50 {through['handle_p50_ms']:.2f} ms "
        f"p99 {through['handle_p99_ms']:.2f} ms, longest stall {through['max_stall_ms']:.0f} ms"
    )

    say(f"routing: paced phase, {PACED_RATE:,} msg/s offered for {paced_seconds}s")
    heartbeat.reset()
    paced = await _paced(app, meter, paced_messages, PACED_RATE)
    paced["max_stall_ms"] = heartbeat.max_stall * 1000
    paced["stalls_over_100ms"] = heartbeat.stalls_over_100ms
    say(
        f"routing: paced p50 {paced['p50_ms']:.1f} ms p99 {paced['p99_ms']:.1f} ms max {paced['max_ms']:.0f} ms"
    )

    await heartbeat.stop()
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sender
    for hook in app.shutdown_hooks:
        await hook(app)

    patterns = [COMMAND_RE] + [s.pattern for s in app.router.specs if s.pattern is not None]
    say(f"routing: baseline, bare loop of {len(patterns)} compiled patterns over the same texts")
    base_rate, base_us = bare_loop_rate([m.text for m in messages], patterns)
    app.services.repo.engine.dispose()

    rate = through["rate"]
    lower = "≥" if paced["p99_is_lower_bound"] else ""
    stall_ms = max(through["max_stall_ms"], paced["max_stall_ms"])
    goals = [
        Goal(f"≥ {GOAL_RATE:,} msg/s (got {rate:,.0f})", rate >= GOAL_RATE),
        Goal(
            f"p99 ≤ {GOAL_P99_MS:.0f} ms at {PACED_RATE:,} msg/s (got {lower}{paced['p99_ms']:,.0f} ms)",
            paced["p99_ms"] <= GOAL_P99_MS,
        ),
        Goal(f"no stall > {GOAL_STALL_MS:.0f} ms (longest {stall_ms:.0f} ms)", stall_ms <= GOAL_STALL_MS),
    ]
    sample = f"{through['messages']:,} msgs" + (
        f" of {count:,}: time cap {through['seconds']:.0f}s" if through["time_capped"] else ""
    )
    figure = (
        f"{rate:,.0f} msg/s end to end ({sample}), receipt→reply queued p50 "
        f"{through['reply_p50_ms']:.2f} ms p99 {through['reply_p99_ms']:.2f} ms; at {PACED_RATE:,}/s "
        f"p99 {lower}{paced['p99_ms']:,.1f} ms; longest stall {stall_ms:,.0f} ms"
    )
    notes = []
    if through["time_capped"]:
        notes.append(
            f"throughput measured on the first {through['messages']:,} of {count:,} messages "
            f"(time cap {through['seconds']:.0f}s keeps the suite within 10 minutes)"
        )
    if paced["unhandled_at_deadline"]:
        notes.append(
            f"paced: {paced['unhandled_at_deadline']:,} of {paced['messages']:,} messages still queued "
            f"{PACED_GRACE_SECONDS:.0f}s after the last arrival; p99 is a lower bound"
        )
    if through["handler_failures"]:
        notes.append(f"handler failures during the run: {through['handler_failures']}")
    return Result(
        name="routing",
        figure=figure,
        baseline=f"bare regex loop {base_rate:,.0f} msg/s ({base_us:.2f} µs/msg, {len(patterns)} patterns)",
        ratio=rate / base_rate,
        goals=goals,
        details={
            "throughput": through,
            "paced": paced,
            "baseline_rate": base_rate,
            "baseline_us_per_msg": base_us,
            "patterns": len(patterns),
            "handler_specs": len(app.router.specs),
            "features": [m.__name__ for m in modules],
            "groups": N_GROUPS,
            "members": N_MEMBERS,
        },
        notes=notes,
    )


def run(quick: bool) -> Result:
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-routing-") as tmp:
        return asyncio.run(_main(quick, Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    return cli("routing", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
