"""Drive the real `tuanbot run` process from outside: start it, feed it chat, SIGKILL it.

The fault suite treats the bot as a black box, the way an operator's machine
does: a process on the simulator transport reading chat lines from stdin and
printing what it sends on stdout, its JSON log in a file, its database on disk
(or on a PostgreSQL server). Each run's stdout goes to its own file so the
transcripts of killed runs survive for the figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def tuanbot_command() -> list[str]:
    """The installed `tuanbot` entry point of this interpreter's venv (or the module as a fallback).

    With TUANBOT_CHAOS_SOURCE set to a source tree (e.g. `git archive HEAD` unpacked), that
    tree's code runs instead, so the suite can be pointed at an older or newer version.
    """
    script = Path(sys.executable).with_name("tuanbot")
    if script.exists() and not os.environ.get("TUANBOT_CHAOS_SOURCE"):
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


def local_time(moment: datetime) -> str:
    """An absolute campaign time with seconds (docs/campaigns.md accepts `YYYY-MM-DD HH:MM:SS`)."""
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")


def write_config(folder: Path, db_url: str) -> Path:
    """A config whose outbox limits let a 240-group fan-out leave in seconds (never for real WeChat)."""
    path = folder / "config.yaml"
    path.write_text(
        "\n".join(
            [
                "admins: [admin]",
                f'database: {{url: "{db_url}"}}',
                "campaigns_dir: campaigns",
                "outbox:",
                "  group_interval_seconds: 0.2",
                "  account_per_minute: 100000",
                "  switch_pause_seconds: [0, 0]",
                "  daily_budget: 10000000",
                "scheduler: {fanout_chunk_groups: 4}  # small chunks: kills land between and inside them",
                "logging: {level: INFO, file: logs/tuanbot.log, json_file: true}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    (folder / "campaigns").mkdir(exist_ok=True)
    return path


@dataclass
class Run:
    """One start of the bot: its transcript file, where its log began, how it ended."""

    index: int
    stdout_path: Path
    stderr_path: Path
    log_offset: int
    started: float
    ended: float = 0.0
    killed: bool = False
    returncode: int | None = None
    note: str = ""


@dataclass
class BotProcess:
    """The bot under test; one process at a time on one database."""

    folder: Path
    config: Path
    run_args: tuple[str, ...] = ()  # after `tuanbot run`, e.g. ("--account", "a1")
    runs: list[Run] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    _stdout: IO[bytes] | None = None
    _stderr: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / "logs" / "tuanbot.log"

    def start(self, note: str = "") -> Run:
        assert self.proc is None, "one bot process per database (per account with --account)"
        self.folder.mkdir(parents=True, exist_ok=True)
        index = len(self.runs) + 1
        run = Run(
            index=index,
            stdout_path=self.folder / f"run-{index:03d}.out",
            stderr_path=self.folder / f"run-{index:03d}.err",
            log_offset=self.log_path.stat().st_size if self.log_path.exists() else 0,
            started=time.monotonic(),
            note=note,
        )
        env = {k: v for k, v in os.environ.items() if k != "TUANBOT_DATABASE_URL"}
        if os.environ.get("TUANBOT_CHAOS_SOURCE"):
            env["PYTHONPATH"] = os.environ["TUANBOT_CHAOS_SOURCE"]
        self._stdout = run.stdout_path.open("wb")
        self._stderr = run.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [
                *tuanbot_command(),
                "run",
                *self.run_args,
                "--config",
                str(self.config),
                "--drain-seconds",
                "30",
            ],
            cwd=self.folder,
            stdin=subprocess.PIPE,
            stdout=self._stdout,
            stderr=self._stderr,
            env=env,
        )
        self.runs.append(run)
        return run

    def feed(self, lines: list[str]) -> bool:
        """Write chat lines to the bot's stdin; False if it is gone."""
        if self.proc is None or self.proc.stdin is None or self.proc.poll() is not None:
            return False
        try:
            self.proc.stdin.write("".join(line + "\n" for line in lines).encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed, the database is left as it is."""
        assert self.proc is not None
        run = self.runs[-1]
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            run.killed = True
        self._reap()

    def finish(self, timeout: float = 90.0) -> None:
        """End of input: the bot drains its outbox and exits on its own."""
        assert self.proc is not None and self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.runs[-1].note += " (did not exit after end of input; killed)"
            os.kill(self.proc.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        assert self.proc is not None
        run = self.runs[-1]
        run.returncode = self.proc.wait()
        run.ended = time.monotonic()
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        for handle in (self._stdout, self._stderr):
            if handle is not None:
                handle.close()
        self.proc = None

    def unexpected_exits(self) -> list[Run]:
        """Runs that ended by themselves with an error (not by our SIGKILL)."""
        return [r for r in self.runs if not r.killed and r.returncode not in (0, None)]


def log_records(path: Path, offset: int = 0) -> Iterator[dict[str, Any]]:
    """JSON log records from `offset` on; a line torn by SIGKILL is skipped."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        handle.seek(offset)
        for raw in handle:
            try:
                yield json.loads(raw)["record"]
            except (ValueError, KeyError):
                continue


class LogWatch:
    """Follow the bot's JSON log while it runs (loguru's file sink is line-buffered)."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path = path
        self.offset = offset
        self._buffer = b""

    def poll(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        self.offset += len(data)
        data = self._buffer + data
        *lines, self._buffer = data.split(b"\n")
        records = []
        for raw in lines:
            try:
                records.append(json.loads(raw)["record"])
            except (ValueError, KeyError):
                continue
        return records


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    """Poll `predicate` until true or `timeout` seconds pass (this suite runs on real time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def until(moment: datetime) -> float:
    """Seconds from now until `moment` (negative when past)."""
    return (moment - datetime.now(TZ)).total_seconds()


def later(seconds: float) -> datetime:
    return datetime.now(TZ) + timedelta(seconds=seconds)


def keep_artifacts(folder: Path, target: Path | None) -> None:
    """Copy the transcripts, logs and figures somewhere a CI job can upload them."""
    if target is None:
        return
    target.mkdir(parents=True, exist_ok=True)
    for item in folder.iterdir():
        if item.is_file() and item.suffix in {".out", ".err", ".txt", ".yaml", ".json"}:
            shutil.copy2(item, target / item.name)
    logs = folder / "logs"
    if logs.exists():
        shutil.copytree(logs, target / "logs", dirs_exist_ok=True)
