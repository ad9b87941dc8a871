"""Routing with the board open (issue 19, acceptance 4): the routing benchmark's throughput phase
with the web board off, then on with a headless Chromium (its own process) logged in as the admin
on the campaign's live page, refreshing every second; alternated off, on, off, on in one run.

The board's figures are computed in the board's own thread from the same SQLite file the bot
writes, so what it can cost chat is interpreter-lock time and database reads; this measures it
as the routing figure with and without a viewer. Goal: routing holds within noise (with the
board, at least 90 % of the same run's figure without it).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import chat
from bench.common import (
    Goal,
    Result,
    bench_config,
    cli,
    group_ids,
    production_logging,
    say,
    start_bot,
    stop_bot,
    tagged_groups,
    wait_campaigns_settled,
    wait_inbound,
    write_live_campaign,
)
from bot import event_loop

N_GROUPS = 1_000
FULL: dict[str, Any] = {"messages": 60_000, "max_seconds": 30.0, "rounds": 2}
QUICK: dict[str, Any] = {"messages": 20_000, "max_seconds": 8.0, "rounds": 1}
ADMIN_TOKEN = "bench-board-admin"
DURABLE_WAIT_SECONDS = 5.0
GOAL_RATIO = 0.9  # "within noise": this machine's routing figure moves ±10 % run to run


def _viewer(base: str) -> subprocess.Popen[str]:
    """Start the browser process and wait until its live page is up."""
    repo = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.board_viewer", base, "live", ADMIN_TOKEN],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ},
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the page is up (or the process ended)
    if "watching" not in line:
        process.kill()
        raise RuntimeError(f"the board viewer did not start: {line.strip() or process.wait()}")
    return process


def _stop_viewer(process: subprocess.Popen[str]) -> int:
    """Stop the browser; how many live updates its page counted."""
    process.terminate()
    out, _ = process.communicate(timeout=20)
    counts = [int(line.rsplit(" ", 1)[1]) for line in out.splitlines() if "live updates" in line]
    return max(counts, default=0)


async def _round(tmp: Path, messages: list[Any], size: dict[str, Any], board: bool, n: int) -> dict[str, Any]:
    production_logging(tmp)
    web = {"enabled": True, "port": 0, "admin_token": ADMIN_TOKEN, "refresh_seconds": 1.0} if board else {}
    ids = group_ids(N_GROUPS)
    config = bench_config(tmp, groups=tagged_groups(ids, lambda i: "all"), web=web or {"enabled": False})
    write_live_campaign(tmp)
    bot = await start_bot(config)
    await wait_campaigns_settled(bot)
    viewer = None
    if board:
        from handlers.board.service import board_of

        server = board_of(bot.app.services).server
        assert server is not None, "the board did not start"
        viewer = await asyncio.to_thread(_viewer, f"http://127.0.0.1:{server.port}")
        await asyncio.sleep(2.0)  # the page's first full figures, as a phone opening it would cost
    label = f"round {n} board {'on' if board else 'off'}"
    through = await chat.serial(bot, messages, size["max_seconds"], label)
    waited = time.perf_counter()
    durable = await wait_inbound(bot.db_path, "m", through["messages"], DURABLE_WAIT_SECONDS)
    seconds = through["seconds"] + time.perf_counter() - waited
    updates = await asyncio.to_thread(_stop_viewer, viewer) if viewer is not None else 0
    live = None
    if board:
        figures = board_of(bot.app.services).live  # what the board's thread spent on the figures
        live = {"snapshots": figures.computed, "last_snapshot_seconds": round(figures.last_seconds, 4)}
    await stop_bot(bot)
    rate = durable / seconds
    say(
        f"board_open: {label}: {rate:,.0f} msg/s, handle p99 {through['handle_p99_ms']:.2f} ms, "
        f"{updates} live updates on the page"
    )
    return {
        "board": board,
        "rate": rate,
        "durable": durable,
        "updates": updates,
        "handle_p99_ms": through["handle_p99_ms"],
        "seconds": seconds,
        "live_figures": live,
    }


async def _main(quick: bool, tmp: Path) -> Result:
    size = QUICK if quick else FULL
    messages = chat.make_messages(size["messages"], seed=8, prefix="m", groups=group_ids(N_GROUPS))
    rounds = []
    for n in range(size["rounds"]):
        for board in (False, True):
            folder = tmp / f"r{n}-{'on' if board else 'off'}"
            folder.mkdir()
            rounds.append(await _round(folder, messages, size, board, n + 1))
    off = [r["rate"] for r in rounds if not r["board"]]
    on = [r["rate"] for r in rounds if r["board"]]
    off_rate, on_rate = sum(off) / len(off), sum(on) / len(on)
    ratio = on_rate / off_rate
    updates = min(r["updates"] for r in rounds if r["board"])
    return Result(
        name="board_open",
        figure=(
            f"routing with the board's live page open (admin, {N_GROUPS:,} groups, refresh 1 s): "
            f"{on_rate:,.0f} msg/s (rounds: {', '.join(f'{r:,.0f}' for r in on)}), "
            f"page saw ≥ {updates} live updates a round"
        ),
        baseline=f"same run, board off: {off_rate:,.0f} msg/s (rounds: {', '.join(f'{r:,.0f}' for r in off)})",
        ratio=ratio,
        goals=[Goal(f"with the board ≥ {GOAL_RATIO:.0%} of without (got {ratio:.0%})", ratio >= GOAL_RATIO)],
        details={"rounds": rounds},
        notes=[] if updates else ["the page counted no live update: was the board serving?"],
    )


def run(quick: bool) -> Result:
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-board-") as tmp:
        return event_loop.run(_main(quick, Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    return cli("board_open", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
