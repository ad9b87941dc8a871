"""Several real `tuanbot run --account ID` processes on one PostgreSQL, driven from outside.

The fault suite's stance (tests/chaos/driver.py, whose helpers this module reuses): each
account process is a black box on the simulator transport. It reads its groups' chat on its
own stdin and prints what it sends on its own stdout (one transcript file per start, so a
killed start's transcript survives), logs JSON into the deployment's log folder, and is
SIGKILLed when a test says so. What the processes agree on is read from the database they
share (`process_lease`, `outbox.account`, `timeline_ledger`), never from their word.

The benchmark `bench/accounts.py` drives the same processes, so the config and campaign
writers take the limits and the timeline as arguments.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.chaos.driver import BotProcess, LogWatch, Run, local_time, wait_for
from tests.chaos.figures import Printed, parse_transcript, query

READY_TIMEOUT = 90.0  # seconds a start may take on a loaded CI machine
REFUSED_EXIT = 3  # `tuanbot run` when another live process holds the lease (here: the same account)


@dataclass(frozen=True)
class Layout:
    """Which account lists which groups, in config order: a group's first lister is its primary."""

    accounts: dict[str, list[str]]

    @classmethod
    def split(cls, groups: list[str], account_ids: list[str]) -> Layout:
        """Equal slices in order, one per account (the last takes the remainder)."""
        size = len(groups) // len(account_ids)
        slices = {a: list(groups[i * size : (i + 1) * size]) for i, a in enumerate(account_ids)}
        slices[account_ids[-1]] += groups[len(account_ids) * size :]
        return cls(slices)

    def with_standby(self, standby: dict[str, str]) -> Layout:
        """Also list each group under a standby account (which must come after its primary)."""
        listed = {a: list(g) for a, g in self.accounts.items()}
        for group, account in standby.items():
            assert self.ids.index(account) > self.ids.index(self.primary(group)), (group, account)
            listed[account].append(group)
        return Layout(listed)

    @property
    def ids(self) -> list[str]:
        return list(self.accounts)

    def groups(self) -> list[str]:
        return sorted({g for groups in self.accounts.values() for g in groups})

    def listers(self, group: str) -> list[str]:
        return [a for a, groups in self.accounts.items() if group in groups]

    def primary(self, group: str) -> str:
        return self.listers(group)[0]

    def primary_groups(self, account: str) -> list[str]:
        return [g for g in self.accounts[account] if self.primary(g) == account]


@dataclass(frozen=True)
class Limits:
    """The outbox section written into the config (each account process applies it to itself)."""

    group_interval_seconds: float = 0.2
    account_per_minute: int = 100_000
    switch_pause_seconds: tuple[float, float] = (0.0, 0.0)
    daily_budget: int = 10_000_000
    fanout_chunk_groups: int = 10


def write_config(folder: Path, db_url: str, layout: Layout, limits: Limits) -> Path:
    """One config for every account process, as docs/deploy.md has it: groups, accounts, limits."""
    lines = [
        "admins: [admin]",
        f'database: {{url: "{db_url}"}}',
        "campaigns_dir: campaigns",
        "groups:",
        *(f"  {g}: {{name: 群{g}}}" for g in layout.groups()),
        "accounts:",
    ]
    for account, groups in layout.accounts.items():
        lines += [f"  - id: {account}", "    transport: simulator", f"    groups: [{', '.join(groups)}]"]
    low, high = limits.switch_pause_seconds
    lines += [
        "outbox:",
        f"  group_interval_seconds: {limits.group_interval_seconds}",
        f"  account_per_minute: {limits.account_per_minute}",
        f"  switch_pause_seconds: [{low}, {high}]",
        f"  daily_budget: {limits.daily_budget}",
        f"scheduler: {{fanout_chunk_groups: {limits.fanout_chunk_groups}}}",
        "logging: {level: INFO, file: logs/tuanbot.log, json_file: true}",
        "",
    ]
    path = folder / "config.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    (folder / "campaigns").mkdir(exist_ok=True)
    return path


def write_campaign(
    folder: Path,
    campaign_id: str,
    groups: list[str],
    opens: datetime,
    closes: datetime,
    products: dict[str, tuple[str, int]],
    timeline: str,
) -> Path:
    """A campaign file with absolute times (seconds included) and the given timeline sections."""
    group_lines = "\n".join(f"  - {g}" for g in groups)
    product_lines = "\n".join(
        f"  - {{code: {code}, name: {name}, price: 10, stock: {stock}}}"
        for code, (name, stock) in products.items()
    )
    path = folder / "campaigns" / f"{campaign_id}.yaml"
    path.write_text(
        f"""id: {campaign_id}
title: 多账号{campaign_id}
groups:
{group_lines}
opens_at: {local_time(opens)}
closes_at: {local_time(closes)}
{timeline.strip()}
monitoring: {{enabled: false}}
products:
{product_lines}
""",
        encoding="utf-8",
    )
    return path


@dataclass
class AccountProcess(BotProcess):
    """One account's process (`tuanbot run --account ID`); its transcripts in its own folder."""

    pids: list[int] = field(default_factory=list)  # one per start, in order

    @property
    def log_path(self) -> Path:
        return self.config.parent / "logs" / "tuanbot.log"

    def start(self, note: str = "") -> Run:
        """`BotProcess.start` (its `run_args` hold `--account ID`), remembering each start's pid."""
        run = super().start(note)
        assert self.proc is not None
        self.pids.append(self.proc.pid)
        return run

    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def exited(self) -> bool:
        """It ended by itself (not by our SIGKILL): reap it, so that it can be started again."""
        if self.proc is not None and self.proc.poll() is not None:
            self._reap()
            return True
        return False

    def stderr_tail(self) -> str:
        return _stderr_tail(self.runs[-1])


class Logs:
    """Follow every JSON log file of the deployment (one shared file, or one per account)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.watches: dict[Path, LogWatch] = {}
        self.records: list[dict[str, Any]] = []

    def poll(self) -> list[dict[str, Any]]:
        fresh: list[dict[str, Any]] = []
        for path in sorted(self.folder.glob("*.log*")):
            watch = self.watches.setdefault(path, LogWatch(path, 0))
            fresh += watch.poll()
        self.records += fresh
        return fresh

    def by_pid(self, pid: int) -> Iterator[dict[str, Any]]:
        return (r for r in self.records if r.get("process", {}).get("id") == pid)


@dataclass
class Fleet:
    """The account processes of one deployment: start, feed, kill, finish; safe across threads."""

    folder: Path
    config: Path
    layout: Layout
    procs: dict[str, AccountProcess] = field(init=False)
    logs: Logs = field(init=False)

    def __post_init__(self) -> None:
        self.procs = {
            a: AccountProcess(self.folder / a, self.config, ("--account", a)) for a in self.layout.ids
        }
        self.logs = Logs(self.config.parent / "logs")
        self._lock = threading.Lock()

    def account_of(self, pid: int) -> str | None:
        return next((a for a, p in self.procs.items() if pid in p.pids), None)

    def start(self, account: str, note: str = "") -> int:
        with self._lock:
            self.procs[account].start(note)
            pid = self.procs[account].pid()
            assert pid is not None
            return pid

    def feed(self, account: str, lines: list[str]) -> bool:
        with self._lock:
            return self.procs[account].feed(lines)

    def kill(self, account: str) -> None:
        with self._lock:
            self.procs[account].kill()

    def wait_ready(
        self, accounts: list[str], campaigns: int, timeout: float = READY_TIMEOUT
    ) -> dict[str, float]:
        """Seconds until each process logged its campaigns loaded (or is gone); missing: not ready."""
        started = time.monotonic()
        ready: dict[str, float] = {}

        def all_ready() -> bool:
            self.logs.poll()
            for account in accounts:
                proc = self.procs[account]
                pid = proc.pid()
                if account in ready or pid is None:
                    continue
                loaded = sum(
                    r["message"].startswith("campaign ") and " loaded from " in r["message"]
                    for r in self.logs.by_pid(pid)
                )
                if loaded >= campaigns:
                    ready[account] = time.monotonic() - started
            return all(a in ready or not self.procs[a].alive() for a in accounts)

        wait_for(all_ready, timeout=timeout, interval=0.1)
        return ready

    def restart(self, account: str, patience: float = 45.0) -> int | None:
        """Start the account again, as systemd would (Restart=always); retry while it is refused
        because the dead process's lease is still held. The pid, or None if it never stayed up."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            pid = self.start(account, "restart")
            time.sleep(2.0)
            with self._lock:
                proc = self.procs[account]
                if not proc.exited():
                    return pid
                refused = proc.runs[-1].returncode == REFUSED_EXIT
            if not refused:
                return None
        return None

    def finish_all(self, timeout: float = 60.0) -> None:
        """End of input for every live process at once; each drains its outbox and exits."""
        with self._lock:
            live = [p for p in self.procs.values() if p.proc is not None]
            for proc in live:
                if proc.proc is not None and proc.proc.stdin is not None:
                    with contextlib.suppress(OSError):
                        proc.proc.stdin.close()
            for proc in live:
                proc.finish(timeout=timeout)

    def stop_all(self) -> None:
        """SIGKILL whatever still runs (a failed test must not leave processes behind)."""
        with self._lock:
            for proc in self.procs.values():
                if proc.proc is not None:
                    proc.kill()  # reaps one that already exited, without counting it as killed

    def transcripts(self) -> list[tuple[str, Printed]]:
        """(account, message) for every message any start of any account printed."""
        return [
            (account, message)
            for account, proc in self.procs.items()
            for run in proc.runs
            if run.stdout_path.exists()
            for message in parse_transcript(run.stdout_path, run.index)
        ]

    def unexpected_exits(self) -> list[str]:
        """Starts that ended by themselves with an error, with their last stderr lines; a restart
        refused while the killed process's lease was still held (exit 3) is not one."""
        return [
            f"{a} run {r.index} ({r.note}) exit {r.returncode}: {_stderr_tail(r)}"
            for a, p in self.procs.items()
            for r in p.unexpected_exits()
            if not (r.note == "restart" and r.returncode == REFUSED_EXIT)
        ]


def _stderr_tail(run: Run, lines: int = 3) -> str:
    text = run.stderr_path.read_text(encoding="utf-8", errors="replace") if run.stderr_path.exists() else ""
    return " | ".join(text.strip().splitlines()[-lines:])


def lease_rows(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    """`process_lease` by name: holder, pid, since, heartbeat_at (and state when it has one)."""
    rows = query(engine, "SELECT name, holder, pid, since, heartbeat_at FROM process_lease")
    return {
        name: {"holder": holder, "pid": int(pid), "since": _utc(since), "heartbeat_at": _utc(beat)}
        for name, holder, pid, since, beat in rows
    }


def _utc(moment: datetime | None) -> datetime | None:
    """The tables keep naive UTC (bot.storage.tables.UTCDateTime); raw SQL reads it naive."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def fresh_database(base_url: str, name: str) -> str:
    """CREATE DATABASE on the server of `base_url` (a psycopg2 URL); the new database's URL."""
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    head, _, params = base_url.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{params}" if params else "")
