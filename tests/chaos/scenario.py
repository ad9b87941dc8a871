"""The fault scenario: a live sale and a 240-group opening, SIGKILLed at random points.

Real time, real process, one database: the campaigns open a few seconds after
the scenario starts (absolute times with seconds), chat is piped in at a steady
pace, and the bot is killed and restarted on the same database until enough
kills have landed. A final run ends with end of input, so the bot drains its
outbox and exits by itself; then the figures are computed.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bot.campaign import TimelineNode, compile_timeline, load_campaign
from tests.chaos.driver import TZ, BotProcess, LogWatch, later, local_time, until, wait_for, write_config
from tests.chaos.figures import (
    Figures,
    QueuedNotice,
    delivery_figures,
    node_figures,
    notice_figures,
    order_figures,
    parse_transcript,
    query,
    snapshot_queued_notices,
)

SALE_GROUPS = ["S1", "S2", "S3", "S4"]
# Each kill comes 20-40 groups after the one before (its target, and what commits between seeing
# that in the ledger and the kill): on uvloop 120 groups left room for 6-7 kills inside the
# opening, under the plan's 8.
FAN_GROUPS = [f"F{i:03d}" for i in range(1, 241)]
PRODUCTS = {"A1": ("草莓", 90, 3), "A2": ("脐橙", 60, 2), "A3": ("芒果", 150, 0)}
MEMBERS = [f"m{i:03d}" for i in range(1, 151)]
LINES_PER_SECOND = 40.0
STARTUP_KILL_SHARE = 0.15  # some kills land while the process is still starting
READY_TIMEOUT = 90.0  # seconds a start may take on a loaded CI machine


@dataclass(frozen=True)
class Kill:
    run: int
    phase: str
    detail: str


@dataclass
class Plan:
    """How long and how hard: the CI run by default, `make chaos` asks for more kills."""

    min_kills: int = 20
    sale_kills: int = 12
    fanout_kills: int = 5
    with_fanout: bool = True
    seed: int = 12


def _product_block() -> str:
    lines = ["products:"]
    for code, (name, stock, limit) in PRODUCTS.items():
        extra = f", limit_per_member: {limit}" if limit else ""
        lines.append(f"  - {{code: {code}, name: {name}, price: 10, stock: {stock}{extra}}}")
    return "\n".join(lines)


def write_campaign(
    folder: Path, campaign_id: str, groups: list[str], opens: datetime, closes: datetime
) -> Path:
    """A campaign with one node of each kind, so an outbox row's (group, kind) names its node."""
    group_lines = "\n".join(f"  - {g}" for g in groups)
    path = folder / "campaigns" / f"{campaign_id}.yaml"
    path.write_text(
        f"""id: {campaign_id}
title: 故障演练{campaign_id}
groups:
{group_lines}
opens_at: {local_time(opens)}
closes_at: {local_time(closes)}
preheat:
  - at: T-8s
    text: 预热 {campaign_id}
countdowns: [T-4s]
open:
  text: 开团啦 {campaign_id}
broadcasts:
  at: [T+6s]
close:
  next_preview: 下期再见 {campaign_id}
followups:
  - at: C+3s
    text: 回访 {campaign_id}
monitoring: {{enabled: false}}
{_product_block()}
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Chaos:
    """One scenario on one database: the process, the kills and the notices queued at each kill."""

    folder: Path
    db_url: str
    plan: Plan
    bot: BotProcess = field(init=False)
    engine: sa.Engine = field(init=False)
    kills: list[Kill] = field(default_factory=list)
    queued: list[QueuedNotice] = field(default_factory=list)
    campaigns: dict[str, tuple[list[TimelineNode], list[str]]] = field(default_factory=dict)
    result: Figures | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.plan.seed)
        self.bot = BotProcess(self.folder, write_config(self.folder, self.db_url))
        self.engine = sa.create_engine(self.db_url)
        self._line = 0

    # -- steps ---------------------------------------------------------------------------
    def add_campaign(self, campaign_id: str, groups: list[str], opens: datetime, closes: datetime) -> None:
        path = write_campaign(self.folder, campaign_id, groups, opens, closes)
        self.campaigns[campaign_id] = (compile_timeline(load_campaign(path)), groups)

    def kill(self, phase: str, detail: str = "") -> None:
        run = self.bot.runs[-1]
        self.bot.kill()
        if not run.killed:
            return  # it had already exited by itself; reported as an unexpected exit
        self.kills.append(Kill(run.index, phase, detail))
        self.queued.extend(snapshot_queued_notices(self.engine, run.index))

    def order_line(self) -> str:
        self._line += 1
        member = self.rng.choice(MEMBERS)
        group = self.rng.choice(SALE_GROUPS)
        code = self.rng.choice(list(PRODUCTS))
        qty = self.rng.randint(1, 3)
        text = self.rng.choice(
            [
                f"接龙 {code} {qty}",
                f"{code}+{qty}",
                f"{code} x{qty}",
                f"{code}+{qty}，{self.rng.choice(list(PRODUCTS))}+1",
                f"{PRODUCTS[code][0]} {qty}",
                "Z9 1",
                f"大家好 {self._line}",
            ]
        )
        return f"{member}@{group}: {text}"

    def refusals(self) -> list[str]:
        """Orders every group must refuse (an unknown code), each from a member not yet refused."""
        self._line += 1
        return [f"r{self._line:04d}{g}@{g}: Z{self._line % 9 + 1} 1" for g in SALE_GROUPS]

    def chat_for(self, seconds: float) -> None:
        """Pipe order lines at a steady pace until `seconds` pass or the process is gone."""
        end = time.monotonic() + seconds
        step = 2 / LINES_PER_SECOND
        while time.monotonic() < end and self.bot.alive():
            self.bot.feed([self.order_line(), self.order_line()])
            time.sleep(min(step, max(0.0, end - time.monotonic())))

    def start(self, phase: str) -> bool:
        """Start the bot; usually wait until it reads chat, sometimes return early to kill it starting."""
        run = self.bot.start(phase)
        if self.rng.random() < STARTUP_KILL_SHARE:
            time.sleep(self.rng.uniform(0.05, 1.5))
            return False
        watch, loaded = LogWatch(self.bot.log_path, run.log_offset), [0]

        def ready() -> bool:
            loaded[0] += sum(
                r["message"].startswith("campaign ") and " loaded from " in r["message"] for r in watch.poll()
            )
            return loaded[0] >= len(self.campaigns) or not self.bot.alive()

        wait_for(ready, timeout=READY_TIMEOUT, interval=0.02)
        return True

    def sale(self) -> None:
        """Random kills while members order: before the opening, then during the sale."""
        attempts = 0
        while sum(k.phase == "sale" for k in self.kills) < self.plan.sale_kills and attempts < 60:
            attempts += 1
            if self.start("sale"):
                # Refusals right after a restart and right before a kill: the notices queued at the
                # kill (3 s window) are then still queued when the next run's notices arrive.
                self.bot.feed(self.refusals())
                self.chat_for(self.rng.uniform(1.0, 6.0))
                self.bot.feed(self.refusals())
                time.sleep(self.rng.uniform(0.1, 0.5))
                opened = len(self._ledger("sale", "open"))
                self.kill("sale" if opened else "before opening", f"{opened}/{len(SALE_GROUPS)} open")
            else:
                self.kill("start-up")

    def _ledger(self, campaign_id: str, node_id: str) -> set[str]:
        sql = "SELECT group_id FROM timeline_ledger WHERE campaign_id = :c AND node_id = :n"
        return {row[0] for row in query(self.engine, sql, c=campaign_id, n=node_id)}

    def fanout(self, opens: datetime) -> None:
        """Kill inside the opening fan-out over 240 groups, again in each restart's resumed fan-out."""
        attempts = 0
        while sum(k.phase == "fan-out" for k in self.kills) < self.plan.fanout_kills and attempts < 20:
            attempts += 1
            before = len(self._ledger("fan", "open"))
            remaining = len(FAN_GROUPS) - before
            if remaining < 3:
                break
            target = self.rng.randint(1, max(1, remaining // 8))  # small bites: many kills inside
            run = self.bot.start("fan-out")

            def reached(target: int = target, before: int = before) -> bool:
                # Progress read from the ledger, not the log: log lines reach the file through a
                # queue and a sink thread, late enough that a fan-out could finish before the kill.
                return len(self._ledger("fan", "open")) - before >= target or not self.bot.alive()

            wait_for(reached, timeout=max(0.0, until(opens)) + READY_TIMEOUT)
            time.sleep(self.rng.uniform(0, 0.006))  # anywhere in the next group's transaction
            self.bot.kill()
            if not run.killed:
                continue  # it exited by itself: an unexpected exit, reported with the figures
            after = len(self._ledger("fan", "open"))
            phase = "fan-out" if before < after < len(FAN_GROUPS) else "after fan-out"
            self.kills.append(Kill(run.index, phase, f"open ledger {before}->{after}/{len(FAN_GROUPS)}"))
            self.queued.extend(snapshot_queued_notices(self.engine, run.index))

    def tail(self, until_moment: datetime) -> None:
        """More random kills, through the remaining nodes, until enough kills have landed."""
        while len(self.kills) < self.plan.min_kills or until(until_moment) > 0:
            if self.start("tail"):
                time.sleep(self.rng.uniform(0.5, 4.0))
                self.kill("tail")
            else:
                self.kill("start-up")

    def _all_due_nodes_ran(self) -> bool:
        now = datetime.now(TZ)
        for campaign_id, (nodes, groups) in self.campaigns.items():
            for node in nodes:
                if node.fire_at <= now and len(self._ledger(campaign_id, node.node_id)) < len(groups):
                    return False
        return True

    def final(self, last_node: datetime) -> None:
        """A run that is not killed: wait for every due node and an empty outbox, then end input."""
        self.bot.start("final")

        def settled() -> bool:
            if not self.bot.alive():
                return True
            if until(last_node) > -2 or not self._all_due_nodes_ran():
                return False
            return query(self.engine, "SELECT COUNT(*) FROM outbox WHERE status = 'queued'") == [(0,)]

        wait_for(settled, timeout=max(0.0, until(last_node)) + READY_TIMEOUT + 30, interval=0.5)
        time.sleep(1.0)
        self.bot.finish()

    # -- the whole thing -----------------------------------------------------------------------
    def play(self) -> Figures:
        # The sale closes long after the suite ends: kills mid-sale are counted, not timed, so a
        # slow machine (a start can take 10 s on a loaded CI runner) gets as many as a fast one.
        sale_opens = later(8)
        self.add_campaign("sale", SALE_GROUPS, sale_opens, sale_opens + timedelta(hours=2))
        self.sale()
        last = datetime.now(TZ)
        if self.plan.with_fanout:
            fan_opens = later(15)
            fan_closes = fan_opens + timedelta(seconds=45)
            self.add_campaign("fan", FAN_GROUPS, fan_opens, fan_closes)
            self.fanout(fan_opens)
            last = fan_closes + timedelta(seconds=3)
        self.tail(last)
        self.final(last)
        self.result = self.figures(datetime.now(TZ))
        return self.result

    def figures(self, due_before: datetime) -> Figures:
        figures = Figures()
        printed = [m for run in self.bot.runs for m in parse_transcript(run.stdout_path, run.index)]
        names = {name: code for code, (name, _, _) in PRODUCTS.items()}
        order_figures(figures, self.engine, "sale", names, printed)
        delivery_figures(figures, self.engine, printed)
        for campaign_id, (nodes, groups) in self.campaigns.items():
            node_figures(figures, self.engine, campaign_id, nodes, groups, due_before)
        notice_figures(figures, self.queued, printed)
        phases: dict[str, int] = {}
        for kill in self.kills:
            phases[kill.phase] = phases.get(kill.phase, 0) + 1
        figures.info["SIGKILLs"] = len(self.kills)
        for phase, count in sorted(phases.items()):
            figures.info[f"  of which {phase}"] = count
        figures.info["runs"] = len(self.bot.runs)
        figures.info["unexpected exits"] = len(self.bot.unexpected_exits())
        for run in self.bot.unexpected_exits():
            tail = run.stderr_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            figures.details["unexpected exits (diagnostic)"].append(
                f"run {run.index} ({run.note}) exit {run.returncode}: {' | '.join(tail)}"
            )
        self.engine.dispose()
        return figures
