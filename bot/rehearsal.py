"""Rehearsal: a campaign dry run an admin can watch before going live.

The real app, router, outbox and APScheduler run on a throw-away SQLite
database, on a `VirtualClock`: bot time stands still while the bot works and
then jumps to the next thing due, so the transcript's times are exactly what
real groups would see however fast or loaded the machine is. `speed` only
sets how fast a person watches it go by. The clock runs on the campaign's own
calendar, starting just before its first node, so a file works whatever dates
it carries. A scenario file replays member events (simulator lines) at offsets
from T; every message is printed, written to a JSON-lines transcript, and a
table at the end says whether each node fired on time.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from bot.app import App
from bot.campaign import Campaign, compile_timeline, load_campaign
from bot.clock import VirtualClock
from bot.config import Config
from bot.events import Event, GroupMessage, MemberJoined, MemberLeft, Outgoing, PrivateMessage
from bot.rehearsal_fill import code_filler
from bot.rehearsal_report import NodeReport, RehearsalResult
from bot.rehearsal_scenario import ScenarioError, ScenarioStep, load_scenario, offset_label
from bot.storage.anchors import get_or_create_anchor
from bot.transports.base import EventSink
from bot.transports.simulator import LineParser, SimulatorSyntaxError, shown
from schedules.virtual_time import JobRelease

LEAD_IN = timedelta(seconds=30)
QUIET_GAP = timedelta(minutes=5)
# A minute of campaign time a second, to watch. Quiet stretches are skipped, so even a three-day
# campaign rehearses in a minute or two; the times in the transcript do not depend on the speed.
DEFAULT_SPEED = 60.0
# Bot time stands still while the bot works, so a node that runs at all runs on the second.
ON_TIME_SECONDS = 1.0
# Rounds of the event loop with nothing runnable before bot time may move on.
SETTLE_ROUNDS = 3
SETTLE_POLL_SECONDS = 0.001
# Real seconds the bot may take over one instant before the rehearsal gives up (a hung job).
SETTLE_TIMEOUT_SECONDS = 120.0
RNG_SEED = 2026
# Skips the timeline means (not a fault): a sale node in a group a leader closed early.


class RehearsalStuck(RuntimeError):
    """The bot never finished reacting to one instant of bot time (a job hung)."""


@dataclass
class Transcript:
    """Writes one JSON object per message, in campaign time."""

    campaign: Campaign
    opens_at: datetime
    sink: IO[str] | None
    echo: Callable[[str], None]
    bot_name: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    # A skip is announced when something happens after it: several in a row with nothing between
    # (internal timers firing silently overnight) read as one line, to where the next thing is.
    skipping_to: datetime | None = None

    def flush_skip(self) -> None:
        if self.skipping_to is not None:
            local = self.skipping_to.astimezone(self.campaign.tz)
            self.echo(f"⏩ nothing due until {local:%m-%d %H:%M}; skipping ahead")
            self.skipping_to = None

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
        self.flush_skip()
        if self.sink is not None:
            self.sink.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.sink.flush()
        where = f"[{group}]" if group else "[私聊]"
        self.echo(f"{local:%m-%d %H:%M:%S} {entry['t']:>10} {where} {sender}: {text}")


class RehearsalTransport:
    """Drives bot time: plays scenario lines, releases jobs, records what the bot says.

    Each round waits until the bot has done all it can at the current instant
    (no job running, every clock waiter parked), then moves bot time to the next
    thing due: a scenario line, a job, or a wait ending (the outbox's pacing).
    Between two instants it sleeps `gap / speed` real seconds so a person can
    watch, unless nothing but monitor ticks is due for a while (`QUIET_GAP`).
    """

    name = "rehearsal"

    def __init__(
        self,
        clock: VirtualClock,
        jobs: JobRelease,
        steps: list[ScenarioStep],
        transcript: Transcript,
        parser: LineParser,
        finished: Callable[[], bool],
        *,
        speed: float,
        skip_quiet: bool = True,
        settle_bot: Callable[[], Awaitable[None]] | None = None,
        fill: Callable[[str], str] = str,
    ) -> None:
        self.clock = clock
        self.fill = fill  # scenario placeholders ({code:alice}) filled when the line is played
        self.settle_bot = settle_bot
        self.jobs = jobs
        self.steps = deque(steps)
        self.transcript = transcript
        self.parser = parser
        self.finished = finished
        self.speed = speed
        self.skip_quiet = skip_quiet
        self.connected = True
        self.removed: list[tuple[str, str]] = []  # (group id, member id) of every removal
        self._last_eventful = clock.now()
        # Whether the last eventful moments said nothing (a leaderboard with no change, overnight):
        # then the next is jumped to without a lead-in, since most likely it says nothing either.
        self._silent = False
        self._heard = 0  # transcript lines when the last eventful moment was reached

    async def start(self, sink: EventSink) -> None:
        reached = False
        while True:
            await self._settle()
            if reached:
                self._silent = len(self.transcript.lines) == self._heard
            if not self.steps and self.finished():
                return
            now = self.clock.now()
            next_job, next_timeline_job = self.jobs.next_due()
            # Monitor ticks are due every minute of a sale; only the rest decides what is "quiet".
            waits = (self.steps[0].at if self.steps else None, self.clock.next_deadline())
            eventful = min((t for t in (*waits, next_timeline_job) if t), default=None)
            # What a person watches coming: a scenario line or a timeline node (after one that said
            # something). The bot's own timers (a reminder's wait) are jumped to without a lead-in.
            watched = min((t for t in (waits[0], next_timeline_job) if t), default=None)
            upcoming = [t for t in (*waits, next_job) if t]
            if not upcoming:
                self.transcript.flush_skip()
                self.transcript.echo("⚠ nothing more is due, yet the timeline has not finished; stopping")
                return
            target = await self._pass_time(now, max(min(upcoming), now), eventful, watched)
            self.clock.advance_to(target)
            reached = eventful is not None and target >= eventful
            if reached:
                self._last_eventful = target
                self._heard = len(self.transcript.lines)
            while self.steps and self.steps[0].at <= target:
                await self._play(self.steps.popleft(), sink)
            self.jobs.release_due()

    async def _settle(self) -> None:
        """Return once the bot has done everything it can at this instant of bot time."""
        quiet_rounds = 0
        started = time.monotonic()
        while quiet_rounds < SETTLE_ROUNDS:
            if self.settle_bot is not None:
                await self.settle_bot()  # work handed off at this instant (orders committing) is done
            if self.clock.busy() or not self.jobs.idle:
                quiet_rounds = 0
                if time.monotonic() - started > SETTLE_TIMEOUT_SECONDS:
                    raise RehearsalStuck(
                        f"the bot has been busy for {SETTLE_TIMEOUT_SECONDS:.0f} s at "
                        f"{self.clock.now().astimezone(self.transcript.campaign.tz):%m-%d %H:%M:%S} "
                        f"(waiting for: {self.jobs.describe_busy()}); run with --verbose to see its logs"
                    )
                await asyncio.sleep(SETTLE_POLL_SECONDS)  # a job may be waiting on a thread
            else:
                quiet_rounds += 1
                await asyncio.sleep(0)

    async def _pass_time(
        self, now: datetime, target: datetime, eventful: datetime | None, watched: datetime | None
    ) -> datetime:
        """Let a person watch the gap go by at `speed`, unless it is a quiet stretch.

        A stretch is quiet when more than `QUIET_GAP` separates the last eventful
        moment from the next one; it is skipped up to `LEAD_IN` before the next, when
        that is one a person watches for (`watched`), else up to it.
        Returns the bot time to move to.
        """
        if target <= now:
            return now
        quiet = eventful is None or eventful - self._last_eventful > QUIET_GAP
        lead = LEAD_IN if eventful == watched and not self._silent else timedelta(0)
        lead_in = None if eventful is None else eventful - lead
        if self.skip_quiet and quiet and (lead_in is None or now < lead_in):
            if eventful is not None:
                self.transcript.skipping_to = eventful
            return target if lead_in is None else min(target, lead_in)
        await asyncio.sleep((target - now).total_seconds() / self.speed)
        return target

    async def _play(self, step: ScenarioStep, sink: EventSink) -> None:
        try:
            event = self.parser.parse(self.fill(step.line)).event
        except SimulatorSyntaxError as exc:
            self.transcript.flush_skip()
            self.transcript.echo(f"scenario line skipped ({step.mark}: {step.line!r}): {exc}")
            return
        if event is not None:
            self._record_member_event(event)
            await sink(event)

    def _record_member_event(self, event: Event) -> None:
        now = self.clock.now()
        if isinstance(event, GroupMessage):
            text = shown(event.kind, event.text)  # a link or card as the scenario wrote it
            self.transcript.record(now, event.group_id, event.sender.name, text, "member")
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
        # An image by its file name: the throw-away folder in its path differs every run.
        text = shown("image", Path(message.text).name) if message.is_image else message.text
        self.transcript.record(
            self.clock.now(),
            message.group_id,
            self.transcript.bot_name if message.group_id else target,
            text,
            message.kind or "reply",
        )

    async def remove_member(self, group_id: str, member_id: str) -> bool:
        """Removal, as the simulator does it: recorded in `removed` and in the transcript ("removal")."""
        self.removed.append((group_id, member_id))
        text = f"已将 {member_id} 移出群聊"
        self.transcript.record(self.clock.now(), group_id, self.transcript.bot_name, text, "removal")
        return True

    async def stop(self) -> None:
        return None


def rehearsal_config(base: Config, workdir: Path, campaign_file: Path) -> Config:
    """The base config pointed at a throw-away folder: its database, this campaign only, its exports.

    A rehearsal writes nothing outside `workdir`, so `/export` in a scenario never lands in the
    real `data/exports/` beside live orders.
    """
    campaigns = workdir / "campaigns"
    campaigns.mkdir(parents=True, exist_ok=True)
    shutil.copy(campaign_file, campaigns / campaign_file.name)
    return base.model_copy(
        update={
            "database": base.database.model_copy(update={"url": f"sqlite:///{workdir / 'rehearsal.db'}"}),
            "campaigns_dir": str(campaigns),
            "exports_dir": str(workdir / "exports"),
            "transport": "simulator",
        }
    )


def load_for_rehearsal(campaign_file: Path, config: Config, anchor: datetime) -> Campaign:
    """The campaign as the bot would load it: config.yaml's 广告法 allow/extra entries apply, so a
    file that `campaign validate --config` and the running bot accept rehearses too."""
    return load_campaign(campaign_file, anchor=anchor, adlaw=config.adlaw_for(""))


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
    """Run the campaign end to end on a virtual clock and report every node."""
    from bot.startup import install_features
    from handlers.fulfilment.codes import seed_codes
    from handlers.redpacket.memory import seed_splits

    anchor = datetime.now(UTC)  # a relative opening (`+2h`) counts from now in a rehearsal
    campaign = load_for_rehearsal(campaign_file, base_config, anchor)
    nodes = compile_timeline(campaign)
    steps = load_scenario(scenario, campaign) if scenario else []
    speed = speed or DEFAULT_SPEED
    start = min([nodes[0].fire_at, *(s.at for s in steps)]) - LEAD_IN
    workdir = Path(tempfile.mkdtemp(prefix="tuanbot-rehearsal-"))
    config = rehearsal_config(base_config, workdir, campaign_file)
    clock = VirtualClock(start)
    # Seeded, so rehearsing the same files twice gives the same transcript (pacing jitter, red packets).
    app = App.build(config, clock=clock, rng=random.Random(RNG_SEED))
    seed_splits(app.services, random.Random(RNG_SEED))
    seed_codes(app.services, random.Random(RNG_SEED))  # pickup codes: the same each run
    get_or_create_anchor(app.services.repo.engine, campaign.id, anchor)  # the registry's load agrees
    registry = install_features(app, persistent_jobs=True, watch=False)
    assert registry.scheduler is not None
    jobs = JobRelease(registry.scheduler, clock)
    # Unless told where, the transcript stays in the throw-away folder with everything else.
    transcript_file = transcript_path or workdir / "transcript.jsonl"
    sink = transcript_file.open("w", encoding="utf-8")
    opens_at = next(n.fire_at for n in nodes if n.kind == "open")
    transcript = Transcript(campaign, opens_at, sink, echo, config.bot.name)

    def finished() -> bool:
        ran = {o.node_id for o in registry.outcomes}
        return all(n.node_id in ran for n in nodes) and app.services.outbox.pending() == 0

    transport = RehearsalTransport(
        clock,
        jobs,
        steps,
        transcript,
        LineParser(clock, {config.bot.name, config.bot.id}),
        finished,
        speed=speed,
        skip_quiet=skip,
        settle_bot=app.settle,
        fill=code_filler(app.services.repo.engine, campaign.id),
    )
    echo(
        f"rehearsing {campaign.id} 「{campaign.title}」 at {speed:g}x: {len(nodes)} nodes, "
        f"{len(steps)} scenario lines; throw-away folder (database, exports, transcript) {workdir}"
    )
    try:
        await app.run(transport, drain_seconds=0)  # the driver only stops once the outbox is empty
    finally:
        sink.close()
    outcomes = {o.node_id: o for o in registry.outcomes}
    reports = []
    for node in nodes:
        outcome = outcomes.get(node.node_id)
        if outcome is None:
            reports.append(NodeReport(node.node_id, node.kind, node.fire_at, None, None, "never ran"))
            continue
        # Against the node's effective time: a leader's `/campaign delay` moves it on purpose.
        late = (outcome.ran_at - outcome.scheduled_at).total_seconds()
        if outcome.skipped and not (outcome.posted or outcome.quiet):
            status = "skipped"
        elif late > ON_TIME_SECONDS:
            status = "late"
        else:
            status = "on time" if outcome.posted or not outcome.quiet else "quiet"
        reports.append(
            NodeReport(
                node.node_id,
                node.kind,
                outcome.scheduled_at,
                outcome.ran_at,
                late,
                status,
                outcome.posted,
                outcome.quiet,
                dict(outcome.reasons),
            )
        )
    if not keep_workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    kept = transcript_path is not None or keep_workdir
    return RehearsalResult(
        campaign, speed, reports, transcript.lines, workdir, transcript_file if kept else None
    )


__all__ = [
    "NodeReport",
    "RehearsalResult",
    "RehearsalStuck",
    "ScenarioError",
    "ScenarioStep",
    "load_scenario",
    "offset_label",
    "rehearsal_config",
    "rehearse",
]
