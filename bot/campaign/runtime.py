"""Campaigns loaded from `data/campaigns/`, and their jobs in the scheduler.

One job per campaign node (`campaign:<id>:<node>`, `replace_existing=True`);
the job fans out to the campaign's groups through the outbox, so a thousand
groups do not mean a thousand jobs due in one second. Each (node, group) runs
at most once, enforced by the ledger's unique key in the same transaction as
the posts. A broken edit of a file is rejected and the last good version keeps
running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from bot.campaign import KINDS, Campaign, Problem, TimelineNode, compile_timeline
from bot.campaign.active import ActiveCampaign
from bot.campaign.cautions import groups_in, overlaps
from bot.campaign.fanout_lane import FanoutLane
from bot.campaign.loader import CampaignError, config_groups, duplicate_id_problem, load_configured
from bot.campaign.node_runs import NodeOutcome, NodeRunning
from bot.campaign.nodes import DEFAULT_RUNNERS, NodeHook, NodeRunner
from bot.campaign.public_text import publish_campaign
from bot.campaign.timeline_rules import shifted_nodes
from bot.campaign.windows import Window, Windows
from bot.storage.anchors import get_or_create_anchor
from bot.storage.tables import CampaignControl
from bot.storage.timeline_store import TimelineStore
from schedules.jobs import Grace, Jobs, monitor_job_id
from schedules.jobs import campaign_node_job_id as job_id

if TYPE_CHECKING:
    from bot.context import Services

MONITOR_FUNC = "handlers.monitoring.jobs:job_monitor"
JOB_TIMELINE_NODE = "bot.campaign.jobs:job_timeline_node"  # the job body, by reference
CAMPAIGN_SUFFIXES = {".yaml", ".yml"}


BEFORE_FIRST_LOAD = "due before the campaign was first loaded"


@dataclass
class Loaded:
    campaign: Campaign
    path: Path
    nodes: list[TimelineNode]
    loaded_at: datetime


@dataclass
class CampaignRuntime(NodeRunning):
    """The live campaigns of one bot process."""

    services: Services
    notify_admins: Callable[..., None]
    runners: dict[str, NodeRunner] = field(default_factory=dict)
    hooks: dict[str, list[NodeHook]] = field(default_factory=dict)
    scheduler: Jobs | None = None
    campaigns: dict[str, Loaded] = field(default_factory=dict)
    anchors: dict[str, datetime] = field(default_factory=dict)  # relative-dated campaigns: first load
    by_path: dict[Path, str] = field(default_factory=dict)
    outcomes: list[NodeOutcome] = field(default_factory=list)
    generation: int = 0  # bumped when campaigns or their times change: features' memos are stale
    leading: bool = True  # runs the jobs; several accounts: only the elected process (bot.startup)

    def __post_init__(self) -> None:
        self.store = TimelineStore(self.services.repo.engine)
        self.fanout_lane = FanoutLane()  # node runs' chunk transactions, one at a time (issue 14)
        self._groups: dict[str, tuple[Campaign, list[str], frozenset[str]]] = {}
        self._controls: dict[str, CampaignControl] = {}
        # Effective windows per campaign and campaigns per group: computed when they can change
        # (load, delay, pause, a node run), never per message.
        self.windows = Windows(self._compute_window, self._campaign_ids_in_group)
        self._node_states: dict[str, list[tuple[TimelineNode, str, str, str]]] = {}
        # Features own their node kinds' posts (runners) and the work done in the node's own
        # transaction after the claim (hooks), e.g. settling coupons at close.
        self.runners = {**DEFAULT_RUNNERS, **self.runners}

    @property
    def running(self) -> bool:
        """True once the scheduler is attached (`tuanbot run`, a rehearsal); else nothing is timed."""
        return self.scheduler is not None

    def attach_scheduler(self, scheduler: Jobs) -> None:
        """Start timing nodes: every kind a campaign may declare needs a feature that posts it."""
        missing = sorted(set(KINDS) - set(self.runners))
        if missing:
            raise RuntimeError(
                f"no feature posts timeline nodes of kind {', '.join(missing)}; "
                "check handlers.features.FEATURES"
            )
        self.scheduler = scheduler
        scheduler.on_missed(self._on_missed)

    # -- loading ---------------------------------------------------------------
    @property
    def directory(self) -> Path:
        config = self.services.config
        return config.path(config.campaigns_dir)

    def load_all(self) -> list[Problem]:
        """Load every campaign file; broken ones are reported, good ones scheduled."""
        problems: list[Problem] = []
        if not self.directory.exists():
            logger.warning("campaigns folder {} does not exist; no campaigns loaded", self.directory)
            return problems
        for path in sorted(p for p in self.directory.iterdir() if p.suffix in CAMPAIGN_SUFFIXES):
            problems.extend(self.load_file(path))
        return problems

    def _anchor(self, campaign_id: str) -> datetime:
        """When `opens_at: +2h` counts from: this campaign's first load, kept in the database."""
        anchor = get_or_create_anchor(self.services.repo.engine, campaign_id, self.services.clock.now())
        self.anchors[campaign_id] = anchor
        return anchor

    def load_file(self, path: Path) -> list[Problem]:
        """(Re)load one file. On problems the previous good version stays scheduled."""
        path = path.resolve()
        try:
            config, names = self.services.config, self.services.renderer.names()
            campaign = load_configured(path, config, known_templates=names, anchor=self._anchor)
        except CampaignError as exc:
            logger.error(
                "campaign file {} rejected; the previous version (if any) keeps running:\n{}", path, exc
            )
            self.notify_admins(
                "admin/campaign_rejected.j2",
                path=path.name,
                problems=exc.problems[:10],
                more=max(0, len(exc.problems) - 10),
            )
            return list(exc.problems)
        other = self.campaigns.get(campaign.id)
        if other is not None and other.path != path:
            problem = duplicate_id_problem(campaign.id, path, other.path)
            logger.error("{}", problem)
            self.notify_admins("admin/campaign_rejected.j2", path=path.name, problems=[problem], more=0)
            return [problem]
        previous_id = self.by_path.get(path)
        if previous_id is not None and previous_id != campaign.id:
            self.unload(previous_id)
        self.campaigns[campaign.id] = Loaded(
            campaign, path, compile_timeline(campaign), self.services.clock.now()
        )
        self.by_path[path] = campaign.id
        self._changed(campaign.id)
        self.schedule(campaign.id)
        nodes = len(self.campaigns[campaign.id].nodes)
        logger.info("campaign {} loaded from {} ({} nodes)", campaign.id, path.name, nodes)
        others = [(c.path, c.campaign) for c in self.campaigns.values() if c.path != path]
        for warning in overlaps([*others, (path, campaign)], config_groups(self.services.config)):
            if warning.startswith(f"{path}:"):  # pairs of earlier files were told when they loaded
                logger.warning("{}", warning)
        return []

    def remove_file(self, path: Path) -> None:
        campaign_id = self.by_path.pop(path.resolve(), None)
        if campaign_id is not None:
            self.unload(campaign_id)
            logger.info(
                "campaign {} removed with its file {}; pending jobs cancelled", campaign_id, path.name
            )

    def unload(self, campaign_id: str) -> None:
        self.generation += 1
        self.campaigns.pop(campaign_id, None)
        self._changed(campaign_id)
        self._remove_jobs(campaign_id, keep=set())

    # -- timeline ----------------------------------------------------------------
    def groups_of(self, campaign: Campaign) -> list[str]:
        """Group ids: listed ones, plus configured groups carrying one of the campaign's tags.

        Computed once per loaded campaign version: handlers ask on every message, and with
        thousands of configured groups recomputing it dominated routing time (docs/performance.md).
        """
        cached = self._groups.get(campaign.id)
        if cached is not None and cached[0] is campaign:
            return cached[1]
        groups = groups_in(campaign, config_groups(self.services.config))
        self._groups[campaign.id] = (campaign, groups, frozenset(groups))
        return groups

    def runs_in(self, campaign: Campaign, group_id: str) -> bool:
        """Whether `campaign` runs in `group_id` (a set lookup, for per-message checks)."""
        self.groups_of(campaign)
        return group_id in self._groups[campaign.id][2]

    def selling_groups(self, campaign: Campaign) -> list[str]:
        """The campaign's groups not closed yet: the ones sale alerts are about."""
        statuses = self.store.group_statuses(campaign.id)
        return [g for g in self.groups_of(campaign) if statuses.get(g, "scheduled") != "closed"]

    def _changed(self, campaign_id: str) -> None:
        """Forget what was memoised about a campaign: it was (re)loaded, delayed, paused or ran."""
        self.generation += 1
        self.windows.invalidate(campaign_id)
        self._node_states.pop(campaign_id, None)
        publish_campaign(self.services.outbox.group_filter, campaign_id, self.campaigns)  # its addresses etc.

    def _ledger_changed(self, campaign_id: str) -> None:
        self._node_states.pop(campaign_id, None)

    def follow(self, campaign_id: str, control: CampaignControl | None = None) -> None:
        """Another account's process ran a node of the campaign, or paused or delayed it (`peer_state`)."""
        if control is not None:
            self._controls[campaign_id] = control
        self._ledger_changed(campaign_id)
        self._changed(campaign_id)

    def _campaign_ids_in_group(self, group_id: str) -> list[str]:
        return [
            cid for cid, loaded in sorted(self.campaigns.items()) if self.runs_in(loaded.campaign, group_id)
        ]

    def _compute_window(self, campaign_id: str) -> Window:
        loaded = self.campaigns[campaign_id]
        nodes = self._shifted_nodes(campaign_id)
        by_id = {n.node_id: n for n in nodes}
        opens_at, closes_at = by_id["open"].fire_at, by_id["close"].fire_at
        campaign = loaded.campaign
        starts = [n.fire_at for n in nodes]
        starts += [campaign.resolve(c.valid_from) for c in campaign.coupons if c.valid_from]
        return Window(nodes, ActiveCampaign(campaign, min([opens_at, *starts]), opens_at, closes_at))

    def in_group(self, group_id: str) -> tuple[ActiveCampaign, ...]:
        """Every loaded campaign that runs in `group_id`, with its effective window (memoised)."""
        return self.windows.in_group(group_id)

    def effective_nodes(self, campaign_id: str) -> list[TimelineNode]:
        """Nodes with a leader's delay applied to those not yet run (memoised)."""
        if campaign_id not in self.campaigns:
            raise KeyError(campaign_id)
        return self.windows.window(campaign_id).nodes

    def _shifted_nodes(self, campaign_id: str) -> list[TimelineNode]:
        loaded = self.campaigns[campaign_id]
        delay = self.control(campaign_id).delay_seconds
        if not delay:
            return loaded.nodes
        return shifted_nodes(
            loaded.nodes,
            timedelta(seconds=delay),
            self.store.ledger(campaign_id),
            self.groups_of(loaded.campaign),
        )

    def effective_times(self, campaign_id: str) -> tuple[datetime, datetime]:
        if campaign_id not in self.campaigns:
            raise KeyError(campaign_id)
        active = self.windows.window(campaign_id).active
        return active.opens_at, active.closes_at

    def schedule(self, campaign_id: str) -> None:
        """Add or replace one job per node not yet run everywhere; drop jobs of nodes that vanished."""
        self.generation += 1
        if self.scheduler is None:
            return
        loaded = self.campaigns[campaign_id]
        groups = self.groups_of(loaded.campaign)
        done = self.store.done_nodes(campaign_id)
        paused = self.control(campaign_id).paused
        wanted: set[str] = set()
        first_seen = self.anchors.get(campaign_id)
        for node in self.effective_nodes(campaign_id):
            if all((node.node_id, g) in done for g in groups):
                continue
            if first_seen is not None and self._before_first_load(
                campaign_id, node, first_seen, groups, done
            ):
                continue
            jid = job_id(campaign_id, node.node_id)
            wanted.add(jid)
            self.scheduler.at(
                JOB_TIMELINE_NODE,
                node.fire_at,
                args=[campaign_id, node.node_id],
                id=jid,
                name=f"{campaign_id} {node.kind} {node.node_id}",
                grace=Grace.CRITICAL if node.critical else Grace.INFO,
                paused=paused,
            )
        self._remove_jobs(campaign_id, keep=wanted | {monitor_job_id(campaign_id)})
        self._schedule_monitor(campaign_id)

    def _before_first_load(
        self,
        campaign_id: str,
        node: TimelineNode,
        first_seen: datetime,
        groups: list[str],
        done: set[tuple[str, str]],
    ) -> bool:
        """An informational node of a relative-dated campaign, past its grace at the first load.

        It never could have run (the sample's `opens_at: +15m` with a three-day preheat), so it
        is recorded as skipped without the "missed" warning meant for nodes lost while the bot
        was down. Openings and closings still run late instead.
        """
        now = self.services.clock.now()
        # A rehearsal's clock starts before the anchor (at the first node): nothing predates it there.
        first_seen = min(first_seen, now)
        if node.critical or (first_seen - node.fire_at).total_seconds() <= self._grace_allowance(node):
            return False
        missing = [group_id for group_id in groups if (node.node_id, group_id) not in done]
        self._record_skips(campaign_id, node, missing, now, BEFORE_FIRST_LOAD)
        logger.bind(campaign=campaign_id, node=node.node_id).info(
            "node {} was due before the campaign was first loaded; recorded as skipped", node.node_id
        )
        return True

    def _schedule_monitor(self, campaign_id: str) -> None:
        """One interval job per campaign checks its groups every minute while the sale is open."""
        if self.scheduler is None:
            return
        clock = self.services.clock
        opens_at, closes_at = self.effective_times(campaign_id)
        if clock.now() >= closes_at or not self.campaigns[campaign_id].campaign.monitoring.enabled:
            self.scheduler.remove(monitor_job_id(campaign_id))
            return
        self.scheduler.every(
            MONITOR_FUNC,
            seconds=60,
            start=opens_at,
            end=closes_at,
            args=[campaign_id],
            id=monitor_job_id(campaign_id),
            name=f"{campaign_id} monitor",
            grace=30,
        )

    def _remove_jobs(self, campaign_id: str, keep: set[str]) -> None:
        if self.scheduler is None:
            return
        monitor = monitor_job_id(campaign_id)
        monitors = [jid for jid in self.scheduler.job_ids(monitor) if jid == monitor]  # not `<id>2`'s
        for jid in [*self.scheduler.job_ids(job_id(campaign_id, "")), *monitors]:
            if jid not in keep:
                self.scheduler.remove(jid)

    # -- leader controls (running a node: bot.campaign.node_runs.NodeRunning) ------------
    def control(self, campaign_id: str) -> CampaignControl:
        """Pause and delay for a campaign, read once from the database; only this class writes them."""
        control = self._controls.get(campaign_id)
        if control is None:
            control = self._controls[campaign_id] = self.store.control(campaign_id)
        return control

    def _save_control(self, campaign_id: str, by: str, *, paused: bool, add_delay: int = 0) -> None:
        control = self.control(campaign_id)
        control.paused, control.delay_seconds = paused, control.delay_seconds + add_delay
        control.updated_by, control.updated_at = by, self.services.clock.now()
        self.store.save_control(control)
        self._controls[campaign_id] = control
        self._changed(campaign_id)

    def pause(self, campaign_id: str, by: str) -> None:
        self._save_control(campaign_id, by, paused=True)
        if self.scheduler is not None:
            for jid in self.scheduler.job_ids(job_id(campaign_id, "")):
                self.scheduler.pause(jid)

    def resume(self, campaign_id: str, by: str) -> None:
        self._save_control(campaign_id, by, paused=False)
        self.schedule(campaign_id)

    def delay(self, campaign_id: str, by: str, seconds: int) -> None:
        self._save_control(campaign_id, by, paused=self.control(campaign_id).paused, add_delay=seconds)
        self.schedule(campaign_id)

    def node_states(self, campaign_id: str) -> list[tuple[TimelineNode, str, str, str]]:
        """(node, group, state, detail) for every node and group: pending, posted, done or skipped.

        Memoised until the campaign's ledger changes through this runtime (a node run, a skip).
        """
        cached = self._node_states.get(campaign_id)
        if cached is not None:
            return cached
        loaded = self.campaigns[campaign_id]
        ledger = {(e.node_id, e.group_id): e for e in self.store.ledger(campaign_id)}
        rows = []
        for node in self.effective_nodes(campaign_id):
            for group_id in self.groups_of(loaded.campaign):
                entry = ledger.get((node.node_id, group_id))
                rows.append(
                    (node, group_id, entry.status if entry else "pending", entry.detail if entry else "")
                )
        self._node_states[campaign_id] = rows
        return rows
