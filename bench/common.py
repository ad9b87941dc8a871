"""Shared pieces of the benchmarks: results, progress lines, machine facts, a lean transport.

Every benchmark module has `run(quick) -> Result` and a `main()` that prints
progress while it runs, then one summary line, and writes its result as JSON
to `bench/results/<name>.json` (git-ignored) for `python -m bench` and the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.events import Event, Outgoing

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


# -- results -------------------------------------------------------------------------------
@dataclass
class Goal:
    """One goal from the issue and whether this run met it (None: not measured)."""

    text: str
    met: bool | None

    def label(self) -> str:
        mark = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return f"{self.text}: {mark}"


@dataclass
class Result:
    """What a benchmark prints and writes: a figure, its baseline, their ratio, the goals."""

    name: str
    figure: str
    baseline: str
    ratio: float | None
    goals: list[Goal] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary_line(self) -> str:
        ratio = "n/a" if self.ratio is None else f"ratio {_sig(self.ratio)}"
        if not self.goals:
            verdict = "no goal"
        elif all(g.met for g in self.goals):
            verdict = "goal met (" + "; ".join(g.text for g in self.goals) + ")"
        else:
            verdict = "goal MISSED (" + "; ".join(g.label() for g in self.goals) + ")"
        return f"{self.name}: {self.figure} | {self.baseline} | {ratio} | {verdict}"

    def save(self) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        data = asdict(self) | {"machine": machine_info(), "summary": self.summary_line()}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        return path


def _sig(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def load_result(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# -- machine -------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    """nproc, CPU model, RAM, Python, date and commit: what a figure needs beside it."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gb = 0.0
    with contextlib.suppress(OSError):
        match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if match:
            ram_gb = int(match.group(1)) / 1024 / 1024
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(ram_gb, 1),
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "loadavg": [round(x, 2) for x in load],
    }


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip() or "unknown"
    return commit + ("+dirty" if dirty.stdout.strip() else "")


# -- measuring -----------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def rss_mb() -> float:
    """Resident set size of this process now (VmRSS), in MB."""
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MB."""
    return _status_kb("VmHWM") / 1024


def _status_kb(key: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class Progress:
    """A progress line every `every` seconds, so a long run shows it is alive."""

    def __init__(self, label: str, total: int, every: float = 3.0, unit: str = "") -> None:
        self.label = label
        self.total = total
        self.every = every
        self.unit = unit
        self.started = time.perf_counter()
        self._last = self.started

    def tick(self, done: int, extra: str = "") -> None:
        now = time.perf_counter()
        if now - self._last < self.every:
            return
        self._last = now
        rate = done / (now - self.started) if now > self.started else 0.0
        pct = f" ({100 * done / self.total:.0f}%)" if self.total else ""
        say(f"{self.label}: {done:,}/{self.total:,}{pct}, {rate:,.0f} {self.unit}/s {extra}".rstrip())


def say(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", flush=True)


class Heartbeat:
    """Measures event-loop stalls: how late a task that wants to wake every `interval` actually wakes."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.max_stall = 0.0
        self.stalls_over_100ms = 0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            late = loop.time() - expected
            self.samples += 1
            if late > self.max_stall:
                self.max_stall = late
            if late > 0.1:
                self.stalls_over_100ms += 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="bench-heartbeat")

    def reset(self) -> None:
        self.max_stall, self.stalls_over_100ms, self.samples = 0.0, 0, 0

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class LeanTransport:
    """In-memory transport that only records what the outbox hands it (no drain per event)."""

    name = "bench"

    def __init__(self, clock_now: Callable[[], datetime]) -> None:
        self.clock_now = clock_now
        self.sent: list[tuple[datetime, Outgoing]] = []
        self.connected = True

    async def start(self, sink: Callable[[Event], Any]) -> None:
        return None

    async def send(self, message: Outgoing) -> None:
        self.sent.append((self.clock_now(), message))

    async def stop(self) -> None:
        return None


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
    from handlers import FEATURES

    return list(FEATURES)


GROUP_NAMES = ("阳光花园", "翠湖苑", "金色家园", "梧桐里", "滨江一号", "幸福小区", "锦绣城", "东方名苑")


def group_ids(count: int) -> list[str]:
    """Wechaty-like room ids."""
    return [f"{20_000_000_000 + 7919 * i}@chatroom" for i in range(count)]


def group_name(index: int) -> str:
    return f"{GROUP_NAMES[index % len(GROUP_NAMES)]}{index // len(GROUP_NAMES) + 1}号团购群"


def tagged_groups(ids: Iterable[str], tag_of: Callable[[int], str]) -> dict[str, dict[str, Any]]:
    return {gid: {"name": group_name(i), "tags": [tag_of(i)]} for i, gid in enumerate(ids)}


def campaign_yaml(
    campaign_id: str,
    *,
    opens_at: datetime,
    closes_at: datetime,
    group_tags: list[str] | None = None,
    groups: list[str] | None = None,
    stock: int = 400,
    preheat_marks: tuple[str, ...] = ("T-2d", "T-1d"),
    countdowns: tuple[str, ...] = ("T-10m", "T-5m", "T-1m"),
    broadcasts: tuple[str, ...] = ("T+30m",),
    followups: tuple[str, ...] = ("C+14h", "C+2d"),
) -> str:
    """A campaign file: by default 10 nodes (2 preheat, 3 countdowns, open, 1 broadcast, close, 2 follow-ups)."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    lines = [
        f"id: {campaign_id}",
        f"title: 鲜果团 {campaign_id}",
        f"opens_at: '{opens_at.astimezone(UTC).strftime(fmt)}'",
        f"closes_at: '{closes_at.astimezone(UTC).strftime(fmt)}'",
    ]
    if groups:
        lines.append("groups: [" + ", ".join(f"'{g}'" for g in groups) + "]")
    if group_tags:
        lines.append("group_tags: [" + ", ".join(group_tags) + "]")
    lines += [
        "products:",
        f"  - {{code: A1, name: 丹东草莓, price: 59.90, unit: 盒, stock: {stock}, limit_per_member: 3}}",
        f"  - {{code: A2, name: 赣南脐橙, price: 39.90, unit: 箱, stock: {stock}, limit_per_member: 2}}",
        f"  - {{code: A3, name: 海南金煌芒, price: 29.90, unit: 箱, stock: {stock}}}",
        f"  - {{code: A4, name: 冰糖心苹果, price: 45.00, unit: 箱, stock: {stock}, limit_per_member: 2}}",
        f"  - {{code: A5, name: 云南蓝莓, price: 35.00, unit: 盒, stock: {stock}, limit_per_member: 4}}",
    ]
    if preheat_marks:
        lines.append("preheat:")
        for mark in preheat_marks:
            lines += [f"  - at: '{mark}'", "    text: '周末鲜果团预告，{{ title }} 即将开团'"]
    lines.append("countdowns: [" + ", ".join(f"'{m}'" for m in countdowns) + "]")
    lines.append("open: {text: 开团啦！回复“商品编号 数量”接龙下单，例如“A1 2”}")
    lines.append("broadcasts:")
    lines.append("  at: [" + ", ".join(f"'{m}'" for m in broadcasts) + "]")
    if followups:
        lines.append("followups:")
        lines += [f"  - {{at: '{m}', text: 水果都收到了吗？}}" for m in followups]
    return "\n".join(lines) + "\n"


# -- entry points ------------------------------------------------------------------------
def cli(name: str, run: Callable[[bool], Result], argv: list[str] | None = None) -> int:
    """Standard `python -m bench.<name> [--quick]` entry point."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}")
    parser.add_argument("--quick", action="store_true", help="a smaller run, for a smoke test")
    args = parser.parse_args(argv)
    say(f"{name}: starting ({'quick' if args.quick else 'full'} run) on commit {git_commit()}")
    started = time.perf_counter()
    result = run(args.quick)
    result.seconds = round(time.perf_counter() - started, 1)
    path = result.save()
    for note in result.notes:
        say(f"{name}: note: {note}")
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    say(f"{name}: finished in {result.seconds:.0f}s; details in {shown}")
    print(result.summary_line(), flush=True)
    return 0


def ensure_repo_on_path() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
