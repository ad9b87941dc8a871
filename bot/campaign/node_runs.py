"""Running a timeline node: the fan-out to groups, the exactly-once ledger, retries and skips.

A mixin of `CampaignRuntime` (bot/campaign/runtime.py), kept apart so that each file stays small:
the registry loads and schedules campaigns, this runs what comes due. Each (node, group) ends
with one ledger row: posted, done (nothing to post) or skipped with a reason, never forgotten.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from loguru import logger
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.campaign import Campaign, TimelineNode
from bot.campaign.fanout_lane import FanoutLane
from bot.campaign.nodes import STATE_CHANGES, NodeHook, NodeRun, NodeRunner
from bot.campaign.outcomes import NodeOutcome
from bot.campaign.phases import GroupFailed, run_after_commit, run_phases
from bot.campaign.retry import GaveUp, retry_transient, retry_transient_async, short_reason
from bot.campaign.timeline_rules import CLOSED_EARLY, readable_duration, skip_in_closed_group
from bot.outbox import Draft
from bot.storage.timeline_store import TimelineStore
from bot.storage.write_lock import begin_write_nowait
from schedules.jobs import MIN_REAL_GRACE_SECONDS, JobEventLike, parse_campaign_node_job_id

if TYPE_CHECKING:
    from bot.campaign.runtime import Loaded
    from bot.context import Services

# Tasks recording missed nodes through a busy database (kept referenced until they finish).
_BACKGROUND: set[asyncio.Task[None]] = set()


class NodeRunning:
    """Node runs for `CampaignRuntime`; the attributes below are the registry's."""

    services: Services
    notify_admins: Callable[..., None]
    campaigns: dict[str, Loaded]
    outcomes: list[NodeOutcome]
    store: TimelineStore
    runners: dict[str, NodeRunner]
    hooks: dict[str, list[NodeHook]]
    fanout_lane: FanoutLane

    if TYPE_CHECKING:

        def effective_nodes(self, campaign_id: str) -> list[TimelineNode]: ...

        def effective_times(self, campaign_id: str) -> tuple[datetime, datetime]: ...

        def groups_of(self, campaign: Campaign) -> list[str]: ...

        def _changed(self, campaign_id: str) -> None: ...

        def _ledger_changed(self, campaign_id: str) -> None: ...

    def _too_late(self, late_seconds: float, node: TimelineNode) -> bool:
        """Past its grace, counting a couple of real seconds of scheduling jitter as on time.

        (In a rehearsal at 3600x, 100 ms of event-loop jitter is six minutes of campaign time.)
        """
        return late_seconds > self._grace_allowance(node)

    def _grace(self, node: TimelineNode) -> int:
        settings = self.services.config.scheduler
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
        clock = self.services.clock
        node = next((n for n in self.effective_nodes(campaign_id) if n.node_id == node_id), None)
        if node is None:
            logger.warning("campaign {} has no node {} any more (edited?); job ignored", campaign_id, node_id)
            return None
        deadline = node.fire_at + timedelta(seconds=self._grace_allowance(node))
        outcome = NodeOutcome(campaign_id, node_id, node.kind, node.fire_at, clock.now(), 0, 0, 0)

        def setup() -> tuple[tuple[datetime, datetime], dict[str, str]]:
            return self.effective_times(campaign_id), self.store.group_statuses(campaign_id)

        try:
            # In the lane's turn: node runs falling due together read one at a time, a loop turn apart.
            times, statuses = await retry_transient_async(
                lambda: self.fanout_lane.setup(setup), clock=clock, until=deadline, what="node set-up"
            )
        except GaveUp as exc:
            times, statuses = None, {}
            setup_failed: str | None = f"database unavailable until past its grace: {exc}"
        else:
            setup_failed = None
        pending: list[str] = []
        memo: dict[Hashable, Any] = {}  # shared by the node run's chunks (`NodeRun.memo`)
        for group_id in self.groups_of(loaded.campaign):
            if setup_failed or times is None:
                await self._skip(outcome, node, group_id, setup_failed or "set-up failed")
                continue
            if skip_in_closed_group(node, statuses.get(group_id, "scheduled")):
                await self._skip(outcome, node, group_id, CLOSED_EARLY)
                continue
            pending.append(group_id)
            if len(pending) >= self.services.config.scheduler.fanout_chunk_groups:
                await self._run_chunk(outcome, node, pending, times, deadline, memo)
                pending = []
                await asyncio.sleep(0)  # let chat be handled while a node fans out to many groups
        if pending and times is not None:
            await self._run_chunk(outcome, node, pending, times, deadline, memo)
        self._changed(campaign_id)
        self.outcomes.append(outcome)
        return outcome

    async def _run_chunk(
        self,
        outcome: NodeOutcome,
        node: TimelineNode,
        groups: list[str],
        times: tuple[datetime, datetime],
        deadline: datetime,
        memo: dict[Hashable, Any],
    ) -> None:
        """A chunk of a node's fan-out, through the fan-out lane (`bot.campaign.fanout_lane`): in
        transactions of at most the lane's time budget each, retried through a busy database until
        `deadline`; past it the first group is recorded as skipped and the rest tried again (each
        group is still retried in its turn, as when groups ran one transaction each)."""
        clock = self.services.clock
        lane = self.fanout_lane
        lock_wait = self.services.config.database.busy_timeout_ms / 1000
        remaining = list(groups)
        while remaining:
            late = (clock.now() - node.fire_at).total_seconds()
            if not node.critical and self._too_late(late, node):
                logger.bind(campaign=outcome.campaign_id, node=node.node_id).warning(
                    "node skipped in {} group(s): {} late, grace {}",
                    len(remaining),
                    readable_duration(late),
                    readable_duration(self._grace(node)),
                )
                for group_id in remaining:
                    await self._skip(outcome, node, group_id, f"{late:.0f}s late")
                return
            batch = remaining
            self.services.repo.prefetch_group_names(batch)  # the next names its posts may need

            def attempt(batch: list[str] = batch) -> dict[str, list[int] | Exception | None] | None:
                return self._run_groups(
                    outcome.campaign_id, node, batch, now=clock.now(), detail="", times=times, memo=memo,
                    budget=lane.budget_seconds, min_groups=lane.min_groups, nowait=True,
                )  # fmt: skip

            try:
                results = await retry_transient_async(
                    lambda: lane.run(attempt, lock_wait_seconds=lock_wait),
                    clock=clock,
                    until=deadline,
                    what=f"node {node.node_id} in {len(batch)} group(s) from {batch[0]}",
                )
            except GaveUp as exc:
                first, remaining = remaining[0], remaining[1:]
                logger.bind(campaign=outcome.campaign_id, node=node.node_id, group=first).error(
                    "node could not run within its grace ({}); recorded as skipped", exc
                )
                await self._skip(outcome, node, first, f"database unavailable until past its grace: {exc}")
                continue
            for group_id in batch:
                if group_id in results:
                    await self._tally(outcome, node, group_id, results[group_id])
            remaining = [group_id for group_id in batch if group_id not in results]

    async def _tally(
        self, outcome: NodeOutcome, node: TimelineNode, group_id: str, result: list[int] | Exception | None
    ) -> None:
        if isinstance(result, Exception):
            log = logger.bind(campaign=outcome.campaign_id, node=node.node_id, group=group_id)
            log.opt(exception=result).error("node runner failed; recorded as skipped for this group")
            why = f"failed: {type(result).__name__}: {short_reason(result)}"
            await self._skip(outcome, node, group_id, why)
        else:
            outcome.count(group_id, result, (self.services.clock.now() - node.fire_at).total_seconds())

    async def _skip(self, outcome: NodeOutcome, node: TimelineNode, group_id: str, why: str) -> None:
        """Record a skipped (node, group), retrying through a busy database so it is never lost."""
        clock = self.services.clock
        try:
            recorded = await retry_transient(
                lambda: self._record_skips(outcome.campaign_id, node, [group_id], clock.now(), why) == 1,
                clock=clock,
                until=clock.now() + timedelta(seconds=self.services.config.scheduler.critical_grace_seconds),
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
        speed = float(getattr(self.services.clock, "speed", 1.0))
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
        ledger says the node already ran there. A leader's `/open`, `/close` or `/countdown`
        comes through here; the scheduler's fan-out runs chunks of groups (`run_in_groups`).
        """
        result = self.run_in_groups(campaign_id, node, [group_id], now=now, detail=detail, times=times)[
            group_id
        ]
        if isinstance(result, Exception):
            raise result
        return result

    def run_in_groups(
        self,
        campaign_id: str,
        node: TimelineNode,
        groups: list[str],
        *,
        now: datetime,
        detail: str = "",
        times: tuple[datetime, datetime] | None = None,
        memo: dict[Hashable, Any] | None = None,
    ) -> dict[str, list[int] | Exception | None]:
        """Run one node in several groups in one transaction; per group its phases
        (`bot.campaign.phases`): the ledger claim, then (only if claimed) the state change, the
        feature hooks and the runner's posts, each group in a savepoint.

        A hook or runner failing in one group rolls back that group only, claim included
        (reported as its exception). A database error aborts the whole chunk: nothing of it is
        committed, and the caller retries it. What the groups registered to run after the
        commit runs once it is done. `memo` is shared by the chunks of one node run. Per group:
        the queued outbox ids, None if the node had already run there, or the exception.
        """
        results = self._run_groups(campaign_id, node, groups, now=now, detail=detail, times=times, memo=memo)
        return results or {}  # waiting for the write lock, it is never found taken (None)

    def _run_groups(
        self,
        campaign_id: str,
        node: TimelineNode,
        groups: list[str],
        *,
        now: datetime,
        detail: str,
        times: tuple[datetime, datetime] | None,
        memo: dict[Hashable, Any] | None,
        budget: float | None = None,
        min_groups: int = 1,
        nowait: bool = False,
    ) -> dict[str, list[int] | Exception | None] | None:
        """`run_in_groups`, for the fan-out lane: with `nowait`, None (nothing done) when another
        connection holds the write lock; with a `budget` (seconds), groups stop being claimed once
        it is spent (`min_groups` are run first), and those not reached are left out of the result.
        The budget counts what the claimed groups will cost once claimed (the insert, the commit,
        the outbox admission and the after-commit work), as the lane measured it per group in
        earlier chunks of the node's kind: on the loop, that work is as long a stall as claiming."""
        loaded = self.campaigns[campaign_id]
        opens_at, closes_at = times or self.effective_times(campaign_id)
        runner = self.runners[node.kind]
        state = STATE_CHANGES.get(node.kind)
        hooks = self.hooks.get(node.kind, [])
        node_memo: dict[Hashable, Any] = {} if memo is None else memo
        results: dict[str, list[int] | Exception | None] = {}
        posts: list[Draft] = []
        claimed: list[tuple[NodeRun, int]] = []
        busy: list[bool] = []
        lane = self.fanout_lane
        tail = lane.tail_per_group(node.kind) if budget is not None else 0.0
        claimed_at: list[float] = []
        careful: list[bool] = []  # set once a group failed: the chunk is redone, each group in a savepoint

        def guard(conn: Connection) -> bool:
            posts.clear()
            claimed.clear()
            results.clear()
            if nowait and not begin_write_nowait(conn):
                busy.append(True)
                return False
            stop_at = None if budget is None else time.perf_counter() + budget
            tx: dict[Hashable, Any] = {}
            for done, group_id in enumerate(groups):
                spent = stop_at is not None and time.perf_counter() + len(claimed) * tail >= stop_at
                if spent and done >= min_groups:
                    break
                run = NodeRun(
                    loaded.campaign, node, group_id, self.services, now, node.fire_at, opens_at, closes_at,
                    conn=conn, memo=node_memo, tx=tx,
                )  # fmt: skip
                try:
                    drafts = run_phases(conn, run, runner=runner, hooks=hooks, state=state, detail=detail,
                                        savepoint=bool(careful))  # fmt: skip
                except OperationalError:
                    raise
                except Exception as exc:
                    if not careful:
                        raise GroupFailed from exc  # roll the whole chunk back; redone with savepoints
                    results[group_id] = exc
                    continue
                if drafts is None:
                    results[group_id] = None
                    continue
                posts.extend(drafts)
                claimed.append((run, len(drafts)))
            claimed_at[:] = [time.perf_counter()]
            return True

        try:
            ids = self.services.outbox.enqueue_atomic(posts, guard) or []
        except GroupFailed:
            careful.append(True)
            ids = self.services.outbox.enqueue_atomic(posts, guard) or []
        if busy:
            return None
        start = 0
        for run, count in claimed:
            results[run.group_id] = ids[start : start + count]
            start += count
            run_after_commit(run.after, run)
        if claimed:
            self._ledger_changed(campaign_id)
            if budget is not None and claimed_at:
                lane.record_tail(node.kind, time.perf_counter() - claimed_at[0], len(claimed))
        return results

    def _record_skips(
        self, campaign_id: str, node: TimelineNode, groups: list[str], now: datetime, why: str
    ) -> int:
        """Record (node, group)s as skipped, in one transaction; how many had no row yet."""
        self._ledger_changed(campaign_id)
        with self.store.engine.begin() as conn:
            return TimelineStore.claim_many(conn, campaign_id, node.node_id, groups, status="skipped",
                                            scheduled_at=node.fire_at, now=now, detail=why)  # fmt: skip

    def _on_missed(self, event: JobEventLike) -> None:
        """The scheduler gave up on a job past its grace: record it as skipped, never silently lost."""
        parsed = parse_campaign_node_job_id(event.job_id)
        if parsed is None or parsed[0] not in self.campaigns:
            return
        campaign_id, node_id = parsed
        node = next((n for n in self.effective_nodes(campaign_id) if n.node_id == node_id), None)
        if node is None:
            return
        now = self.services.clock.now()
        outcome = NodeOutcome(campaign_id, node_id, node.kind, node.fire_at, now, 0, 0, 0)
        why = "missed while the bot was down"
        groups = self.groups_of(self.campaigns[campaign_id].campaign)
        try:  # one transaction for every group: 1,000 of their own held the loop ~80 ms a node
            for _ in range(self._record_skips(campaign_id, node, groups, now, why)):
                outcome.skip(why)
        except OperationalError:  # busy: record them from tasks that retry (a listener cannot wait)
            for group_id in groups:
                task = asyncio.get_running_loop().create_task(self._skip(outcome, node, group_id, why))
                _BACKGROUND.add(task)
                task.add_done_callback(_BACKGROUND.discard)
        due = node.fire_at.astimezone(ZoneInfo(self.services.config.bot.timezone))
        logger.bind(campaign=campaign_id, node=node_id).warning(
            "node {} due {:%m-%d %H:%M} was missed by {} (past its grace); recorded as skipped",
            node_id, due, readable_duration((now - node.fire_at).total_seconds()),
        )  # fmt: skip
        self.outcomes.append(outcome)
