"""Running a timeline node: the fan-out to groups, the exactly-once ledger, retries and skips.

A mixin of `CampaignRegistry` (bot/campaign/runtime.py), kept apart so that each file stays small:
the registry loads and schedules campaigns, this runs what comes due. Each (node, group) ends
with one ledger row: posted, done (nothing to post) or skipped with a reason, never forgotten.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.events import JobExecutionEvent
from loguru import logger
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.campaign import Campaign, TimelineNode
from bot.campaign.nodes import STATE_CHANGES, NodeHook, NodeRun, NodeRunner
from bot.campaign.retry import GaveUp, retry_transient, short_reason
from bot.campaign.timeline_rules import CLOSED_EARLY, readable_duration, skip_in_closed_group
from bot.storage.timeline_store import TimelineStore

if TYPE_CHECKING:
    from bot.app import App
    from bot.campaign.runtime import Loaded

MIN_REAL_GRACE_SECONDS = 2
FANOUT_YIELD_EVERY = 20
# Tasks recording missed nodes through a busy database (kept referenced until they finish).
_BACKGROUND: set[asyncio.Task[None]] = set()


@dataclass
class NodeOutcome:
    """What happened when a node ran (kept in memory for rehearsal summaries).

    `scheduled_at` is the node's effective time (a leader's delay applied); `posted` counts
    groups that got messages, `quiet` groups where it ran and had nothing to say (a stock
    broadcast when sold out, a countdown after an early opening), `reasons` why groups were skipped.
    """

    campaign_id: str
    node_id: str
    kind: str
    scheduled_at: datetime
    ran_at: datetime
    posted: int
    skipped: int
    duplicate: int
    quiet: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


class NodeRunning:
    """Node runs for `CampaignRegistry`; the attributes below are the registry's."""

    app: App
    campaigns: dict[str, Loaded]
    outcomes: list[NodeOutcome]
    store: TimelineStore
    runners: dict[str, NodeRunner]
    hooks: dict[str, list[NodeHook]]

    if TYPE_CHECKING:

        def effective_nodes(self, campaign_id: str) -> list[TimelineNode]: ...

        def effective_times(self, campaign_id: str) -> tuple[datetime, datetime]: ...

        def groups_of(self, campaign: Campaign) -> list[str]: ...

    def _too_late(self, late_seconds: float, node: TimelineNode) -> bool:
        """Past its grace, counting a couple of real seconds of scheduling jitter as on time.

        (In a rehearsal at 3600x, 100 ms of event-loop jitter is six minutes of campaign time.)
        """
        return late_seconds > self._grace_allowance(node)

    def _grace(self, node: TimelineNode) -> int:
        settings = self.app.services.config.scheduler
        return settings.critical_grace_seconds if node.critical else settings.info_grace_seconds

    async def run_node(self, campaign_id: str, node_id: str) -> NodeOutcome | None:
        """Run a node in each group, exactly once per group; late informational posts are skipped.

        A group closed early gets no more sale nodes (recorded as skipped). A run that fails on a
        busy database is retried with backoff until the node's grace runs out, then recorded as
        skipped: every (node, group) ends with a ledger row, none is just forgotten.
        """
        loaded = self.campaigns.get(campaign_id)
        if loaded is None:
            logger.warning(
                "job for unknown campaign {} node {} ignored (file removed?)", campaign_id, node_id
            )
            return None
        clock = self.app.services.clock
        node = next((n for n in self.effective_nodes(campaign_id) if n.node_id == node_id), None)
        if node is None:
            logger.warning("campaign {} has no node {} any more (edited?); job ignored", campaign_id, node_id)
            return None
        deadline = node.fire_at + timedelta(seconds=self._grace_allowance(node))
        outcome = NodeOutcome(campaign_id, node_id, node.kind, node.fire_at, clock.now(), 0, 0, 0)
        try:
            times = await retry_transient(
                lambda: self.effective_times(campaign_id), clock=clock, until=deadline, what="node set-up"
            )
            statuses = await retry_transient(
                lambda: self.store.group_statuses(campaign_id),
                clock=clock,
                until=deadline,
                what="node set-up",
            )
        except GaveUp as exc:
            times, statuses = None, {}
            setup_failed: str | None = f"database unavailable until past its grace: {exc}"
        else:
            setup_failed = None
        for index, group_id in enumerate(self.groups_of(loaded.campaign)):
            if index and index % FANOUT_YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let chat be handled while a node fans out to many groups
            log = logger.bind(campaign=campaign_id, node=node_id, group=group_id)
            if setup_failed or times is None:
                await self._skip(outcome, node, group_id, setup_failed or "set-up failed")
                continue
            if skip_in_closed_group(node, statuses.get(group_id, "scheduled")):
                await self._skip(outcome, node, group_id, CLOSED_EARLY)
                continue
            await self._run_group(outcome, node, group_id, times, deadline, log)
        self.outcomes.append(outcome)
        return outcome

    async def _run_group(
        self,
        outcome: NodeOutcome,
        node: TimelineNode,
        group_id: str,
        times: tuple[datetime, datetime],
        deadline: datetime,
        log: Any,
    ) -> None:
        """One group of a node's fan-out, retried through a busy database until `deadline`."""
        clock = self.app.services.clock
        late = (clock.now() - node.fire_at).total_seconds()
        if not node.critical and self._too_late(late, node):
            log.warning(
                "node skipped: {} late, grace {}",
                readable_duration(late),
                readable_duration(self._grace(node)),
            )
            await self._skip(outcome, node, group_id, f"{late:.0f}s late")
            return
        try:
            queued = await retry_transient(
                lambda: self.run_in_group(outcome.campaign_id, node, group_id, now=clock.now(), times=times),
                clock=clock,
                until=deadline,
                what=f"node {node.node_id} in {group_id}",
            )
        except GaveUp as exc:
            log.error("node could not run within its grace ({}); recorded as skipped", exc)
            await self._skip(outcome, node, group_id, f"database unavailable until past its grace: {exc}")
            return
        except Exception as exc:
            log.opt(exception=True).error("node runner failed; recorded as skipped for this group")
            await self._skip(outcome, node, group_id, f"failed: {type(exc).__name__}: {short_reason(exc)}")
            return
        late = (clock.now() - node.fire_at).total_seconds()
        if queued is None:
            outcome.duplicate += 1
            log.info("node already ran in this group; not posted again")
        elif queued:
            outcome.posted += 1
            log.info("node ran ({:.1f}s after its time): {} message(s) queued", late, len(queued))
        else:
            outcome.quiet += 1
            log.info("node ran ({:.1f}s after its time) with nothing to post", late)

    async def _skip(self, outcome: NodeOutcome, node: TimelineNode, group_id: str, why: str) -> None:
        """Record a skipped (node, group), retrying through a busy database so it is never lost."""
        clock = self.app.services.clock
        try:
            recorded = await retry_transient(
                lambda: self._record_skip(outcome.campaign_id, node, group_id, clock.now(), why),
                clock=clock,
                until=clock.now()
                + timedelta(seconds=self.app.services.config.scheduler.critical_grace_seconds),
                what=f"recording node {node.node_id} in {group_id} as skipped",
            )
        except GaveUp as exc:
            logger.bind(campaign=outcome.campaign_id, node=node.node_id, group=group_id).error(
                "could not record the node as skipped ({}); it will be retried at the next start", exc
            )
            return
        if recorded:
            outcome.skip(why)
        else:
            outcome.duplicate += 1

    def _grace_allowance(self, node: TimelineNode) -> float:
        """Seconds after its time a node may still run: its grace, at least the jitter allowance."""
        speed = float(getattr(self.app.services.clock, "speed", 1.0))
        return max(self._grace(node), MIN_REAL_GRACE_SECONDS * speed)

    def run_in_group(
        self,
        campaign_id: str,
        node: TimelineNode,
        group_id: str,
        *,
        now: datetime,
        detail: str = "",
        times: tuple[datetime, datetime] | None = None,
    ) -> list[int] | None:
        """Run one node in one group: its posts, the ledger row, any state change and the
        feature hooks, all in one transaction. Returns the queued outbox ids, or None when the
        ledger says the node already ran there. The scheduler's fan-out and a leader's `/open`,
        `/close` or `/countdown` both come through here.
        """
        loaded = self.campaigns[campaign_id]
        opens_at, closes_at = times or self.effective_times(campaign_id)
        run = NodeRun(
            loaded.campaign, node, group_id, self.app.services, now, node.fire_at, opens_at, closes_at
        )
        drafts = self.runners[node.kind](run)
        state = STATE_CHANGES.get(node.kind)

        def guard(conn: Connection) -> bool:
            claimed = TimelineStore.claim(
                conn,
                campaign_id=campaign_id,
                node_id=node.node_id,
                group_id=group_id,
                status="posted" if drafts else "done",
                scheduled_at=node.fire_at,
                now=now,
                detail=detail,
            )
            if claimed and state:
                TimelineStore.set_group_status(conn, campaign_id, group_id, state, now)
            if claimed:
                for hook in self.hooks.get(node.kind, []):
                    hook(run, conn)
            return claimed

        return self.app.services.outbox.enqueue_atomic(drafts, guard)

    def _record_skip(
        self, campaign_id: str, node: TimelineNode, group_id: str, now: datetime, why: str
    ) -> bool:
        with self.store.engine.begin() as conn:
            return TimelineStore.claim(
                conn,
                campaign_id=campaign_id,
                node_id=node.node_id,
                group_id=group_id,
                status="skipped",
                scheduled_at=node.fire_at,
                now=now,
                detail=why,
            )

    def _on_missed(self, event: JobExecutionEvent) -> None:
        """APScheduler gave up on a job past its grace: record it as skipped, never silently lost."""
        parts = event.job_id.split(":", 2)
        if len(parts) != 3 or parts[0] != "campaign" or parts[1] not in self.campaigns:
            return
        campaign_id, node_id = parts[1], parts[2]
        node = next((n for n in self.effective_nodes(campaign_id) if n.node_id == node_id), None)
        if node is None:
            return
        now = self.app.services.clock.now()
        outcome = NodeOutcome(campaign_id, node_id, node.kind, node.fire_at, now, 0, 0, 0)
        why = "missed while the bot was down"
        for group_id in self.groups_of(self.campaigns[campaign_id].campaign):
            try:
                if self._record_skip(campaign_id, node, group_id, now, why):
                    outcome.skip(why)
            except OperationalError:
                # The database is busy: record it from a task that retries (a listener cannot wait).
                task = asyncio.get_running_loop().create_task(self._skip(outcome, node, group_id, why))
                _BACKGROUND.add(task)
                task.add_done_callback(_BACKGROUND.discard)
        due = node.fire_at.astimezone(ZoneInfo(self.app.services.config.bot.timezone))
        logger.bind(campaign=campaign_id, node=node_id).warning(
            "node {} due {:%m-%d %H:%M} was missed by {} (past its grace); recorded as skipped",
            node_id,
            due,
            readable_duration((now - node.fire_at).total_seconds()),
        )
        self.outcomes.append(outcome)
