"""Campaigns loaded from `data/campaigns/`, and their jobs in the scheduler.

One job per campaign node (`campaign:<id>:<node>`, `replace_existing=True`);
the job fans out to the campaign's groups through the outbox, so a thousand
groups do not mean a thousand jobs due in one second. Each (node, group) runs
at most once, enforced by the ledger's unique key in the same transaction as
the posts. A broken edit of a file is rejected and the last good version keeps
running.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.events import EVENT_JOB_MISSED
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger

from bot.campaign import KINDS, Campaign, Problem, TimelineNode, compile_timeline, load_campaign
from bot.campaign.loader import CampaignError, duplicate_id_problem
from bot.campaign.node_runs import MIN_REAL_GRACE_SECONDS, NodeOutcome, NodeRunning
from bot.campaign.nodes import DEFAULT_RUNNERS, NodeHook, NodeRunner
from bot.campaign.timeline_rules import shifted_nodes
from bot.storage.anchors import get_or_create_anchor
from bot.storage.tables import CampaignControl
from bot.storage.timeline_store import TimelineStore

if TYPE_CHECKING:
    from bot.app import App

JOB_FUNC = "schedules.jobs:job_timeline_node"
MONITOR_FUNC = "schedules.jobs:job_monitor"
CAMPAIGN_SUFFIXES = {".yaml", ".yml"}


BEFORE_FIRST_LOAD = "due before the campaign was first loaded"


def job_id(campaign_id: str, node_id: str) -> str:
    return f"campaign:{campaign_id}:{node_id}"


def monitor_job_id(campaign_id: str) -> str:
    return f"monitor:{campaign_id}"


@dataclass
class Loaded:
    campaign: Campaign
    path: Path
    nodes: list[TimelineNode]
    loaded_at: datetime


@dataclass
class CampaignRegistry(NodeRunning):
    """The live campaigns of one bot process."""

    app: App
    scheduler: BaseScheduler | None = None
    campaigns: dict[str, Loaded] = field(default_factory=dict)
    anchors: dict[str, datetime] = field(default_factory=dict)  # relative-dated campaigns: first load
    by_path: dict[Path, str] = field(default_factory=dict)
    outcomes: list[NodeOutcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = TimelineStore(self.app.services.repo.engine)
        self._groups: dict[str, tuple[Campaign, list[str], frozenset[str]]] = {}
        self._controls: dict[str, CampaignControl] = {}
        # Feature modules may own a node kind's posts (NODE_RUNNERS) or add work done in the
        # node's own transaction (NODE_HOOKS), e.g. settling coupons at close.
        self.runners: dict[str, NodeRunner] = dict(DEFAULT_RUNNERS)
        self.hooks: dict[str, list[NodeHook]] = {}
        for module in self.app.features:
            self.runners.update(getattr(module, "NODE_RUNNERS", {}))
            for kind, hook in getattr(module, "NODE_HOOKS", {}).items():
                self.hooks.setdefault(kind, []).append(hook)
        missing = sorted(set(KINDS) - set(self.runners))
        if missing:
            raise RuntimeError(
                f"no feature posts timeline nodes of kind {', '.join(missing)}; check handlers.FEATURES"
            )
        if self.scheduler is not None:
            self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)

    # -- loading ---------------------------------------------------------------
    @property
    def directory(self) -> Path:
        config = self.app.services.config
        return config.path(config.campaigns_dir)

    def known_templates(self) -> set[str]:
        return self.app.services.renderer.names()

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
        anchor = get_or_create_anchor(
            self.app.services.repo.engine, campaign_id, self.app.services.clock.now()
        )
        self.anchors[campaign_id] = anchor
        return anchor

    def load_file(self, path: Path) -> list[Problem]:
        """(Re)load one file. On problems the previous good version stays scheduled."""
        path = path.resolve()
        try:
            campaign = load_campaign(path, known_templates=self.known_templates(), anchor=self._anchor)
        except CampaignError as exc:
            logger.error(
                "campaign file {} rejected; the previous version (if any) keeps running:\n{}", path, exc
            )
            self.app.notify_admins(
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
            self.app.notify_admins("admin/campaign_rejected.j2", path=path.name, problems=[problem], more=0)
            return [problem]
        previous_id = self.by_path.get(path)
        if previous_id is not None and previous_id != campaign.id:
            self.unload(previous_id)
        self.campaigns[campaign.id] = Loaded(
            campaign, path, compile_timeline(campaign), self.app.services.clock.now()
        )
        self.by_path[path] = campaign.id
        self.schedule(campaign.id)
        logger.info(
            "campaign {} loaded from {} ({} nodes)",
            campaign.id,
            path.name,
            len(self.campaigns[campaign.id].nodes),
        )
        return []

    def remove_file(self, path: Path) -> None:
        campaign_id = self.by_path.pop(path.resolve(), None)
        if campaign_id is not None:
            self.unload(campaign_id)
            logger.info(
                "campaign {} removed with its file {}; pending jobs cancelled", campaign_id, path.name
            )

    def unload(self, campaign_id: str) -> None:
        self.campaigns.pop(campaign_id, None)
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
        groups = list(dict.fromkeys(campaign.groups))
        listed = set(groups)
        tags = set(campaign.group_tags)
        if tags:
            for group_id, settings in self.app.services.config.groups.items():
                if group_id not in listed and tags.intersection(settings.tags):
                    groups.append(group_id)
                    listed.add(group_id)
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

    def effective_nodes(self, campaign_id: str) -> list[TimelineNode]:
        """Nodes with a leader's delay applied to those not yet run."""
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
        nodes = {n.node_id: n for n in self.effective_nodes(campaign_id)}
        return nodes["open"].fire_at, nodes["close"].fire_at

    def schedule(self, campaign_id: str) -> None:
        """Add or replace one job per node not yet run everywhere; drop jobs of nodes that vanished."""
        if self.scheduler is None:
            return
        loaded = self.campaigns[campaign_id]
        groups = self.groups_of(loaded.campaign)
        done = self.store.done_nodes(campaign_id)
        paused = self.control(campaign_id).paused
        clock = self.app.services.clock
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
            grace = max(MIN_REAL_GRACE_SECONDS, int(clock.real_seconds(self._grace(node))))
            self.scheduler.add_job(
                JOB_FUNC,
                trigger=DateTrigger(run_date=clock.to_real(node.fire_at)),
                args=[campaign_id, node.node_id],
                id=jid,
                name=f"{campaign_id} {node.kind} {node.node_id}",
                replace_existing=True,
                misfire_grace_time=grace,
                coalesce=True,
                max_instances=1,
            )
            if paused:
                self.scheduler.pause_job(jid)
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
        now = self.app.services.clock.now()
        # A rehearsal's clock starts before the anchor (at the first node): nothing predates it there.
        first_seen = min(first_seen, now)
        if node.critical or (first_seen - node.fire_at).total_seconds() <= self._grace_allowance(node):
            return False
        for group_id in groups:
            if (node.node_id, group_id) not in done:
                self._record_skip(campaign_id, node, group_id, now, BEFORE_FIRST_LOAD)
        logger.bind(campaign=campaign_id, node=node.node_id).info(
            "node {} was due before the campaign was first loaded; recorded as skipped", node.node_id
        )
        return True

    def _schedule_monitor(self, campaign_id: str) -> None:
        """One interval job per campaign checks its groups every minute while the sale is open."""
        if self.scheduler is None:
            return
        clock = self.app.services.clock
        opens_at, closes_at = self.effective_times(campaign_id)
        if clock.now() >= closes_at or not self.campaigns[campaign_id].campaign.monitoring.enabled:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(monitor_job_id(campaign_id))
            return
        self.scheduler.add_job(
            MONITOR_FUNC,
            trigger=IntervalTrigger(
                seconds=max(1.0, clock.real_seconds(60)),
                start_date=clock.to_real(opens_at),
                end_date=clock.to_real(closes_at),
            ),
            args=[campaign_id],
            id=monitor_job_id(campaign_id),
            name=f"{campaign_id} monitor",
            replace_existing=True,
            misfire_grace_time=max(MIN_REAL_GRACE_SECONDS, int(clock.real_seconds(30))),
            coalesce=True,
            max_instances=1,
        )

    def _remove_jobs(self, campaign_id: str, keep: set[str]) -> None:
        if self.scheduler is None:
            return
        prefix = job_id(campaign_id, "")
        for job in self.scheduler.get_jobs():
            if (job.id.startswith(prefix) or job.id == monitor_job_id(campaign_id)) and job.id not in keep:
                with contextlib.suppress(JobLookupError):
                    self.scheduler.remove_job(job.id)

    # -- running a node: bot.campaign.node_runs.NodeRunning

    # -- leader controls ----------------------------------------------------------------
    def control(self, campaign_id: str) -> CampaignControl:
        """Pause and delay for a campaign, read once from the database; only this class writes them."""
        control = self._controls.get(campaign_id)
        if control is None:
            control = self._controls[campaign_id] = self.store.control(campaign_id)
        return control

    def _save_control(self, control: CampaignControl) -> None:
        self.store.save_control(control)
        self._controls[control.campaign_id] = control

    def pause(self, campaign_id: str, by: str) -> None:
        control = self.control(campaign_id)
        control.paused, control.updated_by, control.updated_at = True, by, self.app.services.clock.now()
        self._save_control(control)
        if self.scheduler is not None:
            for job in self.scheduler.get_jobs():
                if job.id.startswith(job_id(campaign_id, "")):
                    job.pause()

    def resume(self, campaign_id: str, by: str) -> None:
        control = self.control(campaign_id)
        control.paused, control.updated_by, control.updated_at = False, by, self.app.services.clock.now()
        self._save_control(control)
        self.schedule(campaign_id)

    def delay(self, campaign_id: str, by: str, seconds: int) -> None:
        control = self.control(campaign_id)
        control.delay_seconds += seconds
        control.updated_by, control.updated_at = by, self.app.services.clock.now()
        self._save_control(control)
        self.schedule(campaign_id)

    def node_states(self, campaign_id: str) -> list[tuple[TimelineNode, str, str, str]]:
        """(node, group, state, detail) for every node and group: pending, posted, done or skipped."""
        loaded = self.campaigns[campaign_id]
        ledger = {(e.node_id, e.group_id): e for e in self.store.ledger(campaign_id)}
        rows = []
        for node in self.effective_nodes(campaign_id):
            for group_id in self.groups_of(loaded.campaign):
                entry = ledger.get((node.node_id, group_id))
                rows.append(
                    (node, group_id, entry.status if entry else "pending", entry.detail if entry else "")
                )
        return rows
