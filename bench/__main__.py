"""`python -m bench` (`make bench`): run every benchmark, each in its own process, then summarise.

Options: `--only NAME` (repeatable, or comma-separated) and `--quick` (smaller runs,
a smoke test). Each benchmark prints its own progress; at the end every goal line
(a benchmark may report several: `routing` gives routing, latency and stalls) is
printed again, together:

    name: figure | baseline | ratio | goal met?

and written to `bench/results/summary.txt` beside each row's JSON.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.report import REPO_ROOT, RESULTS_DIR, load_result, machine_info, run_file, say

BENCHMARKS = ("routing", "flash_sale", "timeline_scale", "outbox_storm", "memory", "board_open", "accounts")
# Safety nets only: each benchmark caps its own slow phases to keep the whole run under 10 minutes.
TIMEOUTS = {
    "routing": 330,
    "flash_sale": 240,
    "timeline_scale": 300,
    "outbox_storm": 120,
    "memory": 240,
    "board_open": 300,
    "accounts": 360,
}


def run_one(name: str, quick: bool) -> list[str]:
    """Run one benchmark in a child process, streaming its output; return its goal lines."""
    args = [sys.executable, "-m", f"bench.{name}"] + (["--quick"] if quick else [])
    started = time.time()
    try:
        code = subprocess.run(args, cwd=REPO_ROOT, timeout=TIMEOUTS[name], check=False).returncode
    except subprocess.TimeoutExpired:
        return [f"{name}: FAILED | timed out after {TIMEOUTS[name]}s | n/a | goal not measured"]
    result = load_result(name)
    if code != 0 or result is None or run_file(name).stat().st_mtime < started:  # nothing fresh
        return [f"{name}: FAILED | exit code {code} | n/a | goal not measured"]
    return [str(line) for line in result["summary"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", default=[], help="benchmark name(s): " + ", ".join(BENCHMARKS)
    )
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test, not for the docs)")
    args = parser.parse_args(argv)
    chosen = [n.strip() for item in args.only for n in item.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    machine = machine_info()
    say(
        f"bench: {machine['nproc']} cores ({machine['cpu']}), {machine['ram_gb']} GB RAM, Python "
        f"{machine['python']}, commit {machine['commit']}, load {machine['loadavg']}"
    )
    started = time.perf_counter()
    lines: list[str] = []
    for name in chosen:
        say(f"bench: === {name} ===")
        lines += run_one(name, args.quick)
    total = time.perf_counter() - started
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    header = (
        f"# {machine['date']} commit {machine['commit']} {'quick' if args.quick else 'full'} run, {total:.0f}s"
        f" ({machine['nproc']} × {machine['cpu']}, Python {machine['python']} {machine['python_build']},"
        f" {machine['event_loop']}; plain-Python loop {machine['python_loop_us']:,.0f} µs)"
    )
    (RESULTS_DIR / "summary.txt").write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"\n== summary ({total:.0f}s, {'quick' if args.quick else 'full'} run) ==", flush=True)
    for line in lines:
        print(line, flush=True)
    return 1 if any(": FAILED |" in line for line in lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
