"""Results, summary lines, progress output and machine facts: what every benchmark prints and writes.

A benchmark module has `run(quick) -> list[Result]` (one row per goal line) and a
`main()` that calls `cli()`. Each row is written to `bench/results/<row>.json`
(git-ignored); `bench/results/run-<module>.json` holds the module's summary
lines for `python -m bench`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import subprocess
import sysconfig
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import event_loop

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


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
    """One goal line: a figure, its same-run baseline, their ratio, the goals."""

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


def run_file(module: str) -> Path:
    return RESULTS_DIR / f"run-{module}.json"


def load_result(module: str) -> dict[str, Any] | None:
    """The summary a module's last run wrote (`{"summary": [lines], ...}`), if any."""
    path = run_file(module)
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
        "event_loop": event_loop.available(),
        "python_build": "optimized (PGO/LTO)"
        if "--enable-optimizations" in str(sysconfig.get_config_var("CONFIG_ARGS") or "")
        else "plain",
        "python_loop_us": python_loop_us(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "loadavg": [round(x, 2) for x in load],
    }


def python_loop_us(repeats: int = 5) -> float:
    """µs for a fixed piece of plain Python (dicts, attributes, strings, small tuples), median of
    `repeats`: the interpreter's speed on this machine. The bare regex loop beside the routing
    figure is mostly C and misses it; our hot path is mostly this (docs/performance.md)."""

    class Item:
        __slots__ = ("key", "n")

        def __init__(self, key: str, n: int) -> None:
            self.key, self.n = key, n

    def work() -> int:
        seen: dict[tuple[str, int], int] = {}
        total = 0
        for i in range(2_000):
            item = Item(f"g{i % 97}", i)
            key = (item.key, item.n % 13)
            seen[key] = seen.get(key, 0) + 1
            total += len(item.key.replace("g", "group-")) + (1 if "9" in item.key else 0)
        return total + len(seen)

    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1e6)
    return round(sorted(timings)[len(timings) // 2], 1)


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


# -- entry point ---------------------------------------------------------------------------
def cli(name: str, run: Callable[[bool], Result | list[Result]], argv: list[str] | None = None) -> int:
    """Standard `python -m bench.<name> [--quick]` entry point: run, save every row, print the lines."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}")
    parser.add_argument("--quick", action="store_true", help="a smaller run, for a smoke test")
    args = parser.parse_args(argv)
    say(f"{name}: starting ({'quick' if args.quick else 'full'} run) on commit {git_commit()}")
    started = time.perf_counter()
    outcome = run(args.quick)
    rows = outcome if isinstance(outcome, list) else [outcome]
    seconds = round(time.perf_counter() - started, 1)
    for row in rows:
        row.seconds = seconds
        row.save()
        for note in row.notes:
            say(f"{row.name}: note: {note}")
    lines = [row.summary_line() for row in rows]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    summary = {"module": name, "seconds": seconds, "rows": [r.name for r in rows], "summary": lines}
    run_file(name).write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    say(f"{name}: finished in {seconds:.0f}s; details in bench/results/<row>.json")
    for line in lines:
        print(line, flush=True)
    return 0
