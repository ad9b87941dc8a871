"""A flash sale over 30 groups served by three account processes; the scheduler's is SIGKILLed.

Real time, real processes, one PostgreSQL database. The campaign opens a few seconds after
the processes start (absolute times with seconds): preheat, countdown, opening, two stock
broadcasts, close, follow-up, 40 units of stock for several times that demand. Orders are
piped into each process for the groups it serves; a group two accounts are in (a primary
and a standby) gets its chat on both processes, as WeChat delivers it to both. Once the
opening is out, the process that runs the scheduler (`process_lease` row `scheduler`) is
SIGKILLed; the test watches another process take the role, then starts the killed account
again as systemd would, lets the timeline finish, ends every process's input and computes
the figures (tests/multiaccount/figures.py).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bot.campaign import TimelineNode, compile_timeline, load_campaign
from tests.chaos.driver import TZ, later, until, wait_for
from tests.chaos.figures import query
from tests.multiaccount.driver import Fleet, Layout, Limits, lease_rows, write_campaign, write_config
from tests.multiaccount.figures import Figures, delivery_checks, node_checks, order_checks, rate_checks

CAMPAIGN = "multi"
GROUPS = [f"g{i:02d}" for i in range(1, 31)]
ACCOUNTS = ["a1", "a2", "a3"]
STANDBY = {"g01": "a2", "g02": "a3", "g11": "a3"}  # also listed by a later account
PRODUCTS = {"A1": ("草莓", 25), "A2": ("脐橙", 15)}
# Fast enough for a test (never for real WeChat), with a per-account rate that binds: each
# account has about 130 posts to make in the sale's first minute.
LIMITS = Limits(group_interval_seconds=0.2, account_per_minute=120, fanout_chunk_groups=10)
LEAD_SECONDS = 12.0  # campaign file written -> opening; the processes start meanwhile
CLOSE_AFTER = 30  # seconds after opening
ORDER_SECONDS = 15.0  # orders arrive from the opening for this long
LINES_PER_SECOND = 4.0
TAKEOVER_LIMIT = 30.0  # issue 18: another process runs the scheduler within 30 s of the kill
SCHEDULER_LOG = "runs the scheduler"
TIMELINE = """
preheat:
  - at: T-8s
    text: 预热 {id}
countdowns: [T-4s]
open:
  text: 开团啦 {id}
broadcasts:
  at: [T+6s, T+14s]
  window: 30s
  low_stock_threshold: 0.01  # announce sold-out only: fewer posts, a shorter run
close:
  next_preview: 下期再见 {id}
followups:
  - at: C+3s
    text: 回访 {id}
"""


@dataclass
class Takeover:
    """The scheduler before and after the kill, as the database and the log tell it."""

    killed_account: str = ""
    killed_pid: int = 0
    killed_at: datetime | None = None
    found_by: str = ""  # "process_lease" or "log" (which told us who ran the scheduler)
    new_pid: int = 0
    new_account: str = ""
    row_since: datetime | None = None
    log_at: datetime | None = None

    def seconds(self) -> float | None:
        """Kill -> the new holder's `since` (or its log line when the row says nothing)."""
        moment = self.row_since or self.log_at
        if moment is None or self.killed_at is None:
            return None
        return (moment - self.killed_at).total_seconds()


@dataclass
class ThreeAccountSale:
    folder: Path
    db_url: str
    seed: int = 18
    layout: Layout = field(init=False)
    fleet: Fleet = field(init=False)
    engine: sa.Engine = field(init=False)
    nodes: list[TimelineNode] = field(init=False)
    asked: dict[str, int] = field(default_factory=dict)  # member -> units asked (one line each)
    homes: dict[str, str] = field(default_factory=dict)  # member -> the one group they wrote in
    heard_twice: int = 0  # order lines in a group two accounts are in (both processes got them)
    lowest_stock: int | None = None
    takeover: Takeover = field(default_factory=Takeover)
    startup: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds from the first start
    started: float = 0.0
    result: Figures | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.layout = Layout.split(GROUPS, ACCOUNTS).with_standby(STANDBY)
        config = write_config(self.folder, self.db_url, self.layout, LIMITS)
        self.fleet = Fleet(self.folder, config, self.layout)
        self.engine = sa.create_engine(self.db_url)

    # -- chat ------------------------------------------------------------------------------
    def order_line(self, index: int) -> tuple[str, list[str]]:
        """An order in one of an account's own groups (round robin over the accounts): the line,
        and every account in that group (a standby hears it too)."""
        account = ACCOUNTS[index % len(ACCOUNTS)]
        own = self.layout.primary_groups(account)
        shared = [g for g in own if len(self.layout.listers(g)) > 1]
        # Every other line of an account with shared groups goes to one: a standby hears it too.
        group = self.rng.choice(shared if shared and index % 2 else own)
        code = self.rng.choice(list(PRODUCTS))
        qty = self.rng.randint(1, 3)
        member = f"k{index:03d}"
        self.asked[member] = qty
        self.homes[member] = group
        text = self.rng.choice([f"接龙 {code} {qty}", f"{code}+{qty}", f"{PRODUCTS[code][0]} {qty}"])
        return f"{member}@{group}: {text}", self.layout.listers(group)

    def feed_orders(self, opens: datetime) -> None:
        """The feeder thread: order lines at a steady pace; the stock sampled as they go."""
        time.sleep(max(0.0, until(opens) + 0.3))
        end = time.monotonic() + ORDER_SECONDS
        index = 0
        while time.monotonic() < end:
            line, accounts = self.order_line(index)
            index += 1
            for account in accounts:
                self.fleet.feed(account, [line])  # a dead process hears nothing, as in WeChat
            self.heard_twice += len(accounts) > 1
            rows = query(
                self.engine, "SELECT MIN(stock) FROM campaign_stock WHERE campaign_id = :c", c=CAMPAIGN
            )
            if rows and rows[0][0] is not None:
                low = int(rows[0][0])
                self.lowest_stock = low if self.lowest_stock is None else min(self.lowest_stock, low)
            time.sleep(1 / LINES_PER_SECOND)

    # -- the scheduler ---------------------------------------------------------------------------
    def ledger_count(self, node_id: str) -> int:
        rows = query(
            self.engine,
            "SELECT COUNT(*) FROM timeline_ledger WHERE campaign_id = :c AND node_id = :n",
            c=CAMPAIGN,
            n=node_id,
        )
        return int(rows[0][0]) if rows else 0

    def scheduler_pid(self) -> tuple[int, str]:
        """Who runs the scheduler now: the `scheduler` lease row, else the latest log line."""
        row = lease_rows(self.engine).get("scheduler")
        if row is not None and self.fleet.account_of(row["pid"]):
            return row["pid"], "process_lease"
        self.fleet.logs.poll()
        said = [r for r in self.fleet.logs.records if SCHEDULER_LOG in r["message"]]
        if said:
            return int(said[-1].get("process", {}).get("id", 0)), "log"
        return 0, ""

    def kill_scheduler(self) -> None:
        pid, found_by = self.scheduler_pid()
        account = self.fleet.account_of(pid) if pid else None
        if account is None:
            self.notes.append("no process_lease 'scheduler' row and no log line names the scheduler")
            return
        # Between two sends when possible: a row caught mid-send is `uncertain` (never re-sent).
        wait_for(
            lambda: (
                not query(
                    self.engine, "SELECT 1 FROM outbox WHERE account = :a AND status = 'sending'", a=account
                )
            ),
            timeout=1.0,
            interval=0.01,
        )
        self.fleet.kill(account)
        self.takeover = Takeover(account, pid, datetime.now(UTC), found_by)

    def watch_takeover(self) -> None:
        """Poll the lease row and the log until a surviving process runs the scheduler."""
        take = self.takeover
        survivors = {p.pid() for a, p in self.fleet.procs.items() if a != take.killed_account and p.alive()}

        def taken() -> bool:
            row = lease_rows(self.engine).get("scheduler")
            if row is not None and row["pid"] in survivors and take.row_since is None:
                take.new_pid, take.row_since = row["pid"], row["since"]
            self.fleet.logs.poll()
            for record in self.fleet.logs.records:
                pid = record.get("process", {}).get("id")
                at = datetime.fromtimestamp(record["time"]["timestamp"], UTC)
                fresh = take.killed_at is not None and at >= take.killed_at and take.log_at is None
                if fresh and SCHEDULER_LOG in record["message"] and pid in survivors:
                    take.log_at = at
                    take.new_pid = take.new_pid or pid
            return take.row_since is not None

        wait_for(taken, timeout=TAKEOVER_LIMIT + 5, interval=0.2)
        take.new_account = self.fleet.account_of(take.new_pid) or "" if take.new_pid else ""

    # -- the whole thing -------------------------------------------------------------------------
    def start_all(self) -> None:
        """All three at once on the fresh database, as `systemctl start tuanbot@a{1,2,3}` does; a
        process that dies starting is counted (an unexpected exit) and started again, as systemd
        would with Restart=on-failure, so that the rest of the figures still mean something."""
        for account in ACCOUNTS:
            self.fleet.start(account, "first")
        self.startup = self.fleet.wait_ready(ACCOUNTS, campaigns=1)
        failed = [a for a in ACCOUNTS if a not in self.startup]
        for account in failed:
            proc = self.fleet.procs[account]
            self.notes.append(f"{account} not ready after its first start: {proc.stderr_tail()}")
            self.fleet.kill(account)  # reaps it if it exited; kills it if it hangs
            self.fleet.restart(account)
        if failed:
            self.startup |= self.fleet.wait_ready(failed, campaigns=1)

    def settled(self, last_node: datetime) -> bool:
        if until(last_node) > -2:
            return False
        due = sum(1 for n in self.nodes if n.fire_at <= datetime.now(TZ)) * len(GROUPS)
        done = query(self.engine, "SELECT COUNT(*) FROM timeline_ledger WHERE campaign_id = :c", c=CAMPAIGN)
        busy = query(self.engine, "SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")
        return bool(done and busy) and int(done[0][0]) >= due and int(busy[0][0]) == 0

    def mark(self, phase: str) -> None:
        self.phases[phase] = round(time.monotonic() - self.started, 1)

    def play(self) -> Figures:
        path = write_campaign(
            self.folder,
            CAMPAIGN,
            GROUPS,
            later(LEAD_SECONDS),
            later(LEAD_SECONDS + CLOSE_AFTER),
            PRODUCTS,
            TIMELINE.replace("{id}", CAMPAIGN),
        )
        self.nodes = compile_timeline(load_campaign(path))
        opens = next(n.fire_at for n in self.nodes if n.kind == "open")  # whole seconds, as in the file
        last_node = max(n.fire_at for n in self.nodes)
        started = self.started = time.monotonic()
        try:
            self.start_all()
            self.mark("all ready")
            feeder = threading.Thread(target=self.feed_orders, args=(opens,), name="orders", daemon=True)
            feeder.start()
            if not wait_for(lambda: self.ledger_count("open") >= len(GROUPS), until(opens) + 30, 0.05):
                self.notes.append(f"opening in {self.ledger_count('open')}/{len(GROUPS)} groups by T+30s")
            self.mark(f"opening fanned out (T={round(until(opens) * -1, 1)}s)")
            self.kill_scheduler()
            self.mark("scheduler killed")
            if self.takeover.killed_at is not None:
                self.watch_takeover()
                self.mark("scheduler taken over")
                if self.fleet.restart(self.takeover.killed_account) is None:
                    self.notes.append(f"{self.takeover.killed_account} did not start again")
                self.mark("killed account restarted")
            if not wait_for(lambda: self.settled(last_node), timeout=until(last_node) + 60, interval=0.5):
                self.notes.append("outbox not empty (or nodes missing) 60 s after the last node")
            self.mark(f"settled (last node +{round(-until(last_node), 1)}s)")
            feeder.join(timeout=ORDER_SECONDS + 5)
            time.sleep(1.0)
            self.fleet.finish_all()
            self.mark("all exited")
        finally:
            self.fleet.stop_all()
        self.result = self.figures(time.monotonic() - started)
        self.engine.dispose()
        return self.result

    def figures(self, seconds: float) -> Figures:
        figures = Figures()
        printed = self.fleet.transcripts()
        self.fleet.logs.poll()
        account_of_pid = {pid: a for a, p in self.fleet.procs.items() for pid in p.pids}
        order_checks(
            figures,
            self.engine,
            CAMPAIGN,
            PRODUCTS,
            self.layout,
            self.asked,
            [m for _, m in printed],
            self.lowest_stock,
        )
        node_checks(figures, self.engine, CAMPAIGN, self.nodes, GROUPS, [m for _, m in printed])
        delivery_checks(
            figures, self.engine, self.layout, printed, self.fleet.logs.records, account_of_pid, self.homes
        )
        rate_checks(figures, self.engine, self.layout, LIMITS.account_per_minute)
        take = self.takeover
        took = take.seconds()
        if took is None or took > TAKEOVER_LIMIT or take.new_account in ("", take.killed_account):
            figures.scheduler_not_taken_over_in_30s = 1
        figures.info["order lines heard by a primary and a standby"] = self.heard_twice
        figures.info["scheduler killed"] = f"{take.killed_account} pid {take.killed_pid} ({take.found_by})"
        figures.info["scheduler taken by"] = f"{take.new_account or '-'} pid {take.new_pid or '-'}"
        figures.info["kill -> new scheduler (s)"] = f"{took:.1f}" if took is not None else "never"
        figures.info["  by row since / by log line"] = (
            f"{_delay(take.row_since, take)} / {_delay(take.log_at, take)}"
        )
        figures.info["process start -> campaign loaded (s)"] = {
            a: round(s, 1) for a, s in self.startup.items()
        }
        figures.info["process_lease rows at the end"] = sorted(lease_rows(self.engine))
        exits = self.fleet.unexpected_exits()
        figures.unexpected_exits = len(exits)
        figures.details["unexpected_exits"] += exits
        figures.info["starts, by account"] = {a: len(p.runs) for a, p in self.fleet.procs.items()}
        figures.info["wall time (s)"] = round(seconds, 1)
        for phase, at in self.phases.items():
            figures.info[f"  {phase}"] = at
        for note in self.notes:
            figures.note("scenario notes", note)
        return figures


def _delay(moment: datetime | None, take: Takeover) -> str:
    if moment is None or take.killed_at is None:
        return "-"
    return f"{(moment - take.killed_at).total_seconds():.1f}"
