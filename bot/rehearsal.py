"""Rehearsal: a campaign dry run an admin can watch before going live.

The real app, router, outbox and APScheduler run on a throw-away SQLite
database with time compressed `speed` times. The bot's clock runs on the
campaign's own calendar, starting just before its first node, so a file works
whatever dates it carries. A scenario file replays member events (simulator
lines) at offsets from T; every message is printed, written to a JSON-lines
transcript, and a table at the end says whether each node fired on time.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from apscheduler.triggers.interval import IntervalTrigger
from ruamel.yaml import YAML

from bot.app import App
from bot.campaign import Campaign, compile_timeline, load_campaign, parse_time_spec
from bot.clock import ScaledClock
from bot.config import Config
from bot.events import Event, GroupMessage, MemberJoined, MemberLeft, Outgoing, PrivateMessage
from bot.transports.base import EventSink
from bot.transports.simulator import LineParser, SimulatorSyntaxError

LEAD_IN = timedelta(seconds=30)
QUIET_GAP = timedelta(minutes=5)
# A minute of campaign time a second. Quiet stretches are skipped, so even a three-day campaign
# rehearses in a minute or two, while busy moments (a red-packet burst, the opening rush) keep
# their real shape: at 3600x, the 10-30 ms the bot spends on each message is minutes of campaign time.
DEFAULT_SPEED = 60.0
ON_TIME_REAL_SECONDS = 1.0


class ScenarioError(ValueError):
    """A scenario file that cannot be replayed; the message names the entry."""


@dataclass(frozen=True)
class ScenarioStep:
    at: datetime
    mark: str
    line: str


def load_scenario(path: Path, campaign: Campaign) -> list[ScenarioStep]:
    """Read `- at: T+1m` / `line: "alice@团购一群: 接龙 A1 2"` entries, sorted by time."""
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or []
    if isinstance(data, dict):
        data = data.get("steps", [])
    if not isinstance(data, list):
        raise ScenarioError(f"{path}: expected a list of steps (each with 'at' and 'line')")
    steps = []
    for index, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or "at" not in entry or "line" not in entry:
            raise ScenarioError(f"{path}: step {index}: needs 'at' (like T+1m) and 'line' (a simulator line)")
        try:
            spec = parse_time_spec(str(entry["at"]))
        except ValueError as exc:
            raise ScenarioError(f"{path}: step {index}: at: {exc}") from None
        lines = entry["line"] if isinstance(entry["line"], list) else [entry["line"]]
        for line in lines:
            steps.append(ScenarioStep(campaign.resolve(spec), str(entry["at"]), str(line)))
    return sorted(steps, key=lambda s: s.at)


def offset_label(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    parts += f"{secs}s" if secs or not parts else ""
    return f"T{sign}{parts}"


@dataclass
class Transcript:
    """Writes one JSON object per message, in campaign time."""

    campaign: Campaign
    opens_at: datetime
    sink: IO[str] | None
    echo: Callable[[str], None]
    bot_name: str
    lines: list[dict[str, Any]] = field(default_factory=list)

    def record(self, when: datetime, group: str, sender: str, text: str, kind: str) -> None:
        local = when.astimezone(self.campaign.tz)
        entry = {
            "time": local.isoformat(timespec="seconds"),
            "t": offset_label(when - self.opens_at),
            "group": group,
            "sender": sender,
            "text": text,
            "kind": kind,
        }
        self.lines.append(entry)
        if self.sink is not None:
            self.sink.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.sink.flush()
        where = f"[{group}]" if group else "[私聊]"
        self.echo(f"{local:%m-%d %H:%M:%S} {entry['t']:>10} {where} {sender}: {text}")


class RehearsalTransport:
    """Feeds scenario lines at their times; records what the bot says."""

    name = "rehearsal"

    def __init__(
        self,
        clock: ScaledClock,
        steps: list[ScenarioStep],
        transcript: Transcript,
        parser: LineParser,
        finished: Callable[[], bool],
        skip_quiet: Callable[[datetime | None], None] | None = None,
    ) -> None:
        self.clock = clock
        self.steps = steps
        self.transcript = transcript
        self.parser = parser
        self.finished = finished
        self.skip_quiet = skip_quiet
        self.connected = True

    async def start(self, sink: EventSink) -> None:
        for step in self.steps:
            while (wait := (step.at - self.clock.now()).total_seconds()) > 0:
                if self.skip_quiet is not None:
                    self.skip_quiet(step.at)
                    wait = (step.at - self.clock.now()).total_seconds()
                await self.clock.sleep(min(wait, QUIET_GAP.total_seconds()))
            try:
                event = self.parser.parse(step.line).event
            except SimulatorSyntaxError as exc:
                self.transcript.echo(f"scenario line skipped ({step.mark}: {step.line!r}): {exc}")
                continue
            if event is not None:
                self._record_member_event(event)
                await sink(event)
        while not self.finished():
            if self.skip_quiet is not None:
                self.skip_quiet(None)
            await self.clock.sleep(30)

    def _record_member_event(self, event: Event) -> None:
        now = self.clock.now()
        if isinstance(event, GroupMessage):
            self.transcript.record(now, event.group_id, event.sender.name, event.text, "member")
        elif isinstance(event, PrivateMessage):
            self.transcript.record(now, "", event.sender.name, event.text, "member-private")
        elif isinstance(event, MemberJoined):
            names = "、".join(m.name for m in event.members)
            self.transcript.record(now, event.group_id, names, "加入了群聊", "join")
        elif isinstance(event, MemberLeft):
            names = "、".join(m.name for m in event.members)
            self.transcript.record(now, event.group_id, names, "退出了群聊", "leave")

    async def send(self, message: Outgoing) -> None:
        target = message.group_id or f"→{message.member_id}"
        self.transcript.record(
            self.clock.now(),
            message.group_id,
            self.transcript.bot_name if message.group_id else target,
            message.text,
            message.kind or "reply",
        )

    async def stop(self) -> None:
        return None


@dataclass
class NodeReport:
    node_id: str
    kind: str
    scheduled: datetime
    ran_at: datetime | None
    late_bot_seconds: float | None
    late_real_seconds: float | None
    status: str


@dataclass
class RehearsalResult:
    campaign: Campaign
    speed: float
    nodes: list[NodeReport]
    transcript: list[dict[str, Any]]
    workdir: Path

    @property
    def all_on_time(self) -> bool:
        return all(n.status == "on time" for n in self.nodes)


def rehearsal_config(base: Config, workdir: Path, campaign_file: Path) -> Config:
    """The base config pointed at a throw-away database and a folder holding only this campaign."""
    campaigns = workdir / "campaigns"
    campaigns.mkdir(parents=True, exist_ok=True)
    shutil.copy(campaign_file, campaigns / campaign_file.name)
    return base.model_copy(
        update={
            "database": base.database.model_copy(update={"url": f"sqlite:///{workdir / 'rehearsal.db'}"}),
            "campaigns_dir": str(campaigns),
            "transport": "simulator",
        }
    )


async def rehearse(
    campaign_file: Path,
    base_config: Config,
    *,
    speed: float | None = None,
    scenario: Path | None = None,
    transcript_path: Path | None = None,
    echo: Callable[[str], None] = print,
    keep_workdir: bool = False,
    skip: bool = True,
) -> RehearsalResult:
    """Run the campaign end to end on a scaled clock and report every node."""
    from bot.startup import install_features

    campaign = load_campaign(campaign_file)
    nodes = compile_timeline(campaign)
    steps = load_scenario(scenario, campaign) if scenario else []
    speed = speed or DEFAULT_SPEED
    # Lead in by at least a real second, so start-up never makes the first node late.
    start = min([nodes[0].fire_at, *(s.at for s in steps)]) - max(LEAD_IN, timedelta(seconds=speed))
    workdir = Path(tempfile.mkdtemp(prefix="tuanbot-rehearsal-"))
    config = rehearsal_config(base_config, workdir, campaign_file)
    clock = ScaledClock(anchor=start, speed=speed)
    app = App.build(config, clock=clock)
    registry = install_features(app, persistent_jobs=True, watch=False)
    sink = transcript_path.open("w", encoding="utf-8") if transcript_path else None
    opens_at = next(n.fire_at for n in nodes if n.kind == "open")
    transcript = Transcript(campaign, opens_at, sink, echo, config.bot.name)

    def finished() -> bool:
        ran = {o.node_id for o in registry.outcomes}
        return all(n.node_id in ran for n in nodes) and app.services.outbox.pending() == 0

    scheduler = registry.scheduler
    assert scheduler is not None

    def skip_quiet(until: datetime | None) -> None:
        """Jump over stretches where nothing is due, moving every job's real fire time along."""
        if app.services.outbox.pending():
            return
        # Periodic jobs (the monitor) tick all the time; only one-off work counts as "due".
        due = [
            j.next_run_time
            for j in scheduler.get_jobs()
            if j.next_run_time is not None and not isinstance(j.trigger, IntervalTrigger)
        ]
        now_real = clock.to_real(clock.now())
        next_real = min(due, default=None)
        candidates = [clock.now() + (t - now_real) * speed for t in ([next_real] if next_real else [])]
        if until is not None:
            candidates.append(until)
        if not candidates:
            return
        gap = min(candidates) - clock.now() - LEAD_IN
        if gap <= QUIET_GAP:
            return
        seconds = gap.total_seconds()
        clock.jump(seconds)
        for job in scheduler.get_jobs():
            if job.next_run_time is not None and not isinstance(job.trigger, IntervalTrigger):
                job.modify(next_run_time=job.next_run_time - timedelta(seconds=seconds / speed))
        echo(f"⏩ nothing due until {min(candidates).astimezone(campaign.tz):%m-%d %H:%M}; skipping ahead")

    transport = RehearsalTransport(
        clock,
        steps,
        transcript,
        LineParser(clock, {config.bot.name, config.bot.id}),
        finished,
        skip_quiet if skip else None,
    )
    echo(
        f"rehearsing {campaign.id} 「{campaign.title}」 at {speed:g}x: {len(nodes)} nodes, "
        f"{len(steps)} scenario lines; throw-away database in {workdir}"
    )
    try:
        await app.run(transport, drain_seconds=3600)
    finally:
        if sink is not None:
            sink.close()
    outcomes = {o.node_id: o for o in registry.outcomes}
    reports = []
    for node in nodes:
        outcome = outcomes.get(node.node_id)
        if outcome is None:
            reports.append(NodeReport(node.node_id, node.kind, node.fire_at, None, None, None, "never ran"))
            continue
        late = (outcome.ran_at - node.fire_at).total_seconds()
        status = (
            "skipped"
            if outcome.skipped and not outcome.posted
            else ("on time" if late / speed <= ON_TIME_REAL_SECONDS else "late")
        )
        reports.append(
            NodeReport(node.node_id, node.kind, node.fire_at, outcome.ran_at, late, late / speed, status)
        )
    if not keep_workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return RehearsalResult(campaign, speed, reports, transcript.lines, workdir)
