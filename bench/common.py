"""The app under test, driven as production drives it; every import that may move lives here.

The lead is moving packages (issue 14). Each benchmark reaches the app only
through this module: `bot.app.App`, `bot.config`, `bot.events`,
`handlers.features.FEATURES`, and the scheduler/registry through
`bot.startup.install_features`. When one of those moves, fix it here, once.

Results, progress lines and machine facts are in `bench.report` (re-exported
here for the benchmarks that import them from `bench.common`).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import (
    REPO_ROOT,
    RESULTS_DIR,
    Goal,
    Progress,
    Result,
    cli,
    git_commit,
    machine_info,
    peak_rss_mb,
    percentile,
    rss_mb,
    say,
)
from bench.scenario import (
    GROUP_NAMES,
    Heartbeat,
    campaign_yaml,
    group_ids,
    group_name,
    tagged_groups,
)
from bot.events import Event, Outgoing

__all__ = [
    "GROUP_NAMES",
    "REPO_ROOT",
    "RESULTS_DIR",
    "Goal",
    "Heartbeat",
    "Progress",
    "Result",
    "campaign_yaml",
    "cli",
    "git_commit",
    "group_ids",
    "group_name",
    "machine_info",
    "peak_rss_mb",
    "percentile",
    "rss_mb",
    "say",
    "tagged_groups",
    "write_live_campaign",
]

# Where the app writes what the benchmarks check from the outside (a separate SQLite connection,
# so only durably committed rows count). Fix here if a table is renamed.
INBOUND_COUNT_SQL = "SELECT COUNT(*) FROM inbound_messages WHERE message_id >= ? AND message_id < ?"
# The outbox methods through which every post is queued (the tap wraps them); fix here if renamed.
QUEUE_METHODS = ("enqueue", "enqueue_atomic")


class LeanTransport:
    """In-memory transport: records what the outbox hands it; `start(sink)` holds until `stop()`.

    `App.run(transport)` runs the app exactly as `tuanbot run` does (start-up hooks,
    outbox sender, anything else the app starts there, shutdown flush); the
    benchmark then delivers events through `sink`, the app's inbound path.
    """

    name = "bench"

    def __init__(self, clock_now: Callable[[], datetime]) -> None:
        self.clock_now = clock_now
        self.sent: list[tuple[datetime, Outgoing]] = []
        self.connected = True
        self.sink: Callable[[Event], Any] | None = None
        self.ready = asyncio.Event()
        self._stopped = asyncio.Event()

    async def start(self, sink: Callable[[Event], Any]) -> None:
        self.sink = sink
        self.ready.set()
        await self._stopped.wait()

    async def send(self, message: Outgoing) -> None:
        self.sent.append((self.clock_now(), message))

    async def remove_member(self, group_id: str, member_id: str) -> bool:
        return False  # as WeChat for a bot that does not own the group: the leader is asked instead

    async def stop(self) -> None:
        self._stopped.set()


@dataclass(frozen=True)
class Post:
    """One post the app queued, as the outbox tap saw it."""

    at: float  # perf_counter when queued
    group_id: str
    member_id: str
    text: str
    kind: str


class OutboxTap:
    """Wraps the outbox's queueing methods so a benchmark sees each post when it is queued."""

    def __init__(self, outbox: Any) -> None:
        self.listeners: list[Callable[[list[Post]], None]] = []
        for attr in QUEUE_METHODS:
            setattr(outbox, attr, self._wrap(getattr(outbox, attr), attr == "enqueue"))

    def _wrap(self, original: Any, single: bool) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            value = original(*args, **kwargs)
            if single:
                text = args[0] if args else kwargs.get("text", "")
                g, m, k = (kwargs.get(n, d) for n, d in (("group_id", ""), ("member_id", ""), ("kind", "")))
                posts = [Post(time.perf_counter(), g, m, text, k)]
            elif value is None:  # the guard said no: nothing queued
                posts = []
            else:
                now = time.perf_counter()
                posts = [Post(now, d.group_id, d.member_id, d.text, d.kind) for d in args[0]]
            for listener in self.listeners:
                listener(posts)
            return value

        return wrapped


# The message being handled: (message id, group, sender, receipt). Tasks the app spawns while
# handling it inherit it, so a reply queued later (after an order's commit) is still attributed.
CURRENT: ContextVar[tuple[str, str, str, float] | None] = ContextVar("bench_message", default=None)


class ReplyMeter:
    """Receipt → first reply queued, per message (a reply goes to the message's group or sender)."""

    def __init__(self, tap: OutboxTap) -> None:
        self.first: dict[str, float] = {}
        self.unattributed = 0
        tap.listeners.append(self._on_posts)

    def _on_posts(self, posts: list[Post]) -> None:
        current = CURRENT.get()
        for post in posts:
            if current is None or (post.group_id != current[1] and post.member_id != current[2]):
                self.unattributed += 1
            elif current[0] not in self.first:
                self.first[current[0]] = post.at - current[3]

    def clear(self) -> None:
        self.first.clear()
        self.unattributed = 0


@dataclass
class Bot:
    """A running app: `deliver(event)` is its inbound path (`App.handle_event` via the transport's sink)."""

    app: Any
    registry: Any
    transport: LeanTransport
    tap: OutboxTap
    db_path: Path
    task: asyncio.Task[None]
    startup_seconds: float
    meter: ReplyMeter = field(init=False)

    def __post_init__(self) -> None:
        self.meter = ReplyMeter(self.tap)

    async def deliver(self, event: Event, receipt: float | None = None) -> Any:
        """Hand one event to the app as a transport does, the message attributed for `ReplyMeter`."""
        assert self.transport.sink is not None
        sender = getattr(getattr(event, "sender", None), "id", "")
        token = CURRENT.set(
            (getattr(event, "message_id", ""), getattr(event, "group_id", ""), sender, receipt or 0.0)
        )
        try:
            return await self.transport.sink(event)
        finally:
            CURRENT.reset(token)

    def pending(self) -> int:
        return int(self.app.services.outbox.pending())


async def start_bot(config: Any, *, clock: Any = None) -> Bot:
    """Build the app with the full feature set and the scheduler, and run it as `tuanbot run` does."""
    from bot.app import App
    from bot.clock import SystemClock
    from bot.startup import install_features

    clock = clock or SystemClock()
    app = App.build(config, clock=clock, features=feature_modules())
    registry = install_features(app, persistent_jobs=True, watch=False)
    transport = LeanTransport(clock.now)
    tap = OutboxTap(app.services.outbox)
    started = time.perf_counter()
    task = asyncio.create_task(app.run(transport, drain_seconds=0.0), name="bench-app")
    ready = asyncio.create_task(transport.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        await task  # raises what stopped the app
    db_path = Path(config.database_url().removeprefix("sqlite:///"))
    return Bot(app, registry, transport, tap, db_path, task, time.perf_counter() - started)


async def stop_bot(bot: Bot) -> None:
    """Stop the transport: the app runs its shutdown (flushes what it writes behind) and returns."""
    await bot.transport.stop()
    await bot.task
    bot.app.services.repo.engine.dispose()


async def wait_campaigns_settled(bot: Bot, node_id: str = "open", timeout: float = 120.0) -> None:
    """Let start-up campaign jobs (the `node_id` node in every group, skips of past nodes) finish."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(o.node_id == node_id for o in bot.registry.outcomes):
        await asyncio.sleep(0.1)
    previous = -1
    while time.monotonic() < deadline and len(bot.registry.outcomes) != previous:
        previous = len(bot.registry.outcomes)
        await asyncio.sleep(0.5)
    if time.monotonic() >= deadline:
        say(f"bench: warning: the campaign's {node_id} node did not run within {timeout:.0f}s")


async def run_monitor_now(bot: Bot, campaign_id: str, timeout: float = 60.0) -> float:
    """Fire the campaign's per-minute monitor job now, through the scheduler; seconds until it finished."""
    scheduler = bot.registry.scheduler
    job = next(j for j in scheduler.get_jobs() if j.id.startswith("monitor") and campaign_id in j.id)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def listener(event: Any) -> None:
        if event.job_id == job.id:
            loop.call_soon_threadsafe(done.set)

    stop = scheduler.on_finished(listener)
    started = time.perf_counter()
    try:
        scheduler.run_at_real(job.id, datetime.now(UTC))
        await asyncio.wait_for(done.wait(), timeout)
    finally:
        stop()
    return time.perf_counter() - started


def reload_campaign(bot: Bot, path: Path) -> None:
    """What the file watcher does when an admin saves a campaign file."""
    bot.registry.load_file(path)


def missed_jobs(bot: Bot) -> list[str]:
    """Ids of jobs APScheduler drops as misfired from now on (a list that fills as they happen)."""
    missed: list[str] = []
    bot.registry.scheduler.on_missed(lambda e: missed.append(e.job_id))
    return missed


def order_writer_parts() -> tuple[Any, Any, Any, Any, Any]:
    """(OrderWriter, OrderStore, PlaceOrder, make_engine, init_db) for the writer-vs-sqlite3 baseline."""
    from bot.storage.engine import init_db, make_engine

    try:
        from handlers.selling.order_writer import OrderWriter
        from handlers.selling.store import OrderStore, PlaceOrder
    except ImportError:  # before the move into handlers/selling/ (commit 274b246 and earlier)
        from bot.commerce.order_writer import OrderWriter  # type: ignore[no-redef]
        from bot.storage.orders import OrderStore, PlaceOrder  # type: ignore[no-redef]
    return OrderWriter, OrderStore, PlaceOrder, make_engine, init_db


def load_campaign(text: str, source: str) -> Any:
    """A campaign file parsed and validated, without any storage or scheduler."""
    from bot.campaign import parse_campaign

    return parse_campaign(text, source)


def compile_campaign(text: str, source: str) -> list[Any]:
    """Parse and compile one campaign file: the timeline's no-storage baseline."""
    from bot.campaign import compile_timeline, parse_campaign

    return list(compile_timeline(parse_campaign(text, source)))


def bare_patterns(bot: Bot) -> list[Any]:
    """The compiled patterns the router matches: the command regex and every handler's pattern."""
    from bot.router import COMMAND_RE

    return [COMMAND_RE] + [s.pattern for s in bot.app.router.specs if s.pattern is not None]


# -- reading what is durably written ---------------------------------------------------------
def read_db(db_path: Path) -> sqlite3.Connection:
    """A separate, read-only connection: it sees only what the app has committed."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=5000")
    return db


def count_inbound(db: sqlite3.Connection, prefix: str) -> int:
    """Inbound-log rows whose message id starts with `prefix`."""
    return int(db.execute(INBOUND_COUNT_SQL, (prefix, prefix + "\U0010ffff")).fetchone()[0])


async def wait_inbound(db_path: Path, prefix: str, expected: int, timeout: float) -> int:
    """Poll until `expected` inbound rows are committed (a write-behind flushes) or `timeout`; the count.

    The count runs in a thread: over 200,000 rows it takes ~90 ms, which on the loop was counted
    as the app's longest stall of the throughput phase."""
    db = read_db(db_path)
    deadline = time.perf_counter() + timeout
    try:
        while (count := await asyncio.to_thread(count_inbound, db, prefix)) < expected and (
            time.perf_counter() < deadline
        ):
            await asyncio.sleep(0.005)
        return count
    finally:
        db.close()


# -- the app under test -----------------------------------------------------------------
def bench_config(tmp: Path, *, groups: dict[str, dict[str, Any]] | None = None, **overrides: Any) -> Any:
    """A config like production's, with its database, logs and campaigns under `tmp`."""
    from bot.config import parse_config

    data: dict[str, Any] = {
        "admins": ["wxid_admin0001"],
        "groups": groups or {},
        "database": {"url": f"sqlite:///{tmp / 'tuanbot.db'}"},
        "campaigns_dir": str(tmp / "campaigns"),
        "logging": {"file": str(tmp / "logs" / "tuanbot.log")},
    }
    data.update(overrides)
    return parse_config(data, base_dir=str(tmp))


def production_logging(tmp: Path) -> Path:
    """Logging as `tuanbot run` sets it up on the simulator: console WARNING, a DEBUG file.

    The console sink is left off so the progress lines stay readable; the file
    sink (every inbound message, every queued and sent message) is the cost that
    production pays.
    """
    from bot.logging_setup import setup_logging

    path = tmp / "logs" / "tuanbot.log"
    setup_logging("WARNING", path, console=False)
    return path


def feature_modules() -> list[Any]:
    """The full handler set, read at run time so features land in the benchmark as they are added."""
    from handlers.features import FEATURES

    return list(FEATURES)


def write_live_campaign(tmp: Path, stock: int = 10_000) -> None:
    """The routing benchmarks' campaign: `live`, opened two hours ago in every group tagged `all`,
    closing in a day, so every message meets a sale in progress."""
    now = datetime.now(UTC)
    (tmp / "campaigns").mkdir(parents=True, exist_ok=True)
    (tmp / "campaigns" / "live.yaml").write_text(
        campaign_yaml(
            "live",
            opens_at=now - timedelta(hours=2),
            closes_at=now + timedelta(days=1),
            group_tags=["all"],
            stock=stock,
        ),
        encoding="utf-8",
    )


def thread_cpu() -> dict[str, float]:
    """CPU seconds each kind of thread of this process has used (Linux; {} elsewhere). Pools are
    summed under one name ("uvloop_3" -> "uvloop")."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used: dict[str, float] = {}
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return used
    for task in tasks.iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        name = re.sub(r"_\d+$", "", names.get(int(task.name), "other"))
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


def thread_busy(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Each kind of thread's share of one core over `seconds`, in %, busiest first."""
    shares = {name: 100 * (after[name] - before.get(name, 0.0)) / seconds for name in after}
    return {
        name: round(share, 1) for name, share in sorted(shares.items(), key=lambda x: -x[1]) if share >= 0.5
    }
