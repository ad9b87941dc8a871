"""Live figures shared by every viewer: at most one computation per campaign per interval.

However many phones watch a sale, a campaign's snapshot (`handlers.board.figures`) is computed
at most once per `web.refresh_seconds`, only while somebody asks, and only when something it
shows has moved (its fingerprint); concurrent askers wait for the same computation instead of
starting their own. The interval also stretches with the cost:
a computation that took `t` seconds is not repeated within `COST_RATIO × t` of its start, so
however large the sale, the board spends at most about a tenth of one thread on it and the
chat keeps the rest. All of it runs in the board's single worker thread, never on the event
loop and never in the default executor the bot's own handlers use.

Each viewer's cut (their groups, their alerts) and its rendering are remembered per snapshot
and scope, so viewers of the same groups share that work too.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from loguru import logger

from bot.context import Services
from handlers.board.alerts import AlertLog
from handlers.board.figures import Snapshot, inputs_of, refresh_snapshot

T = TypeVar("T")
COST_RATIO = 10.0  # a computation of t seconds is not repeated within COST_RATIO × t of its start
VIEWS_KEPT = 256  # rendered cuts kept (campaign snapshot × scope)

Runner = Callable[..., Awaitable[Any]]  # runs a blocking function in the board's thread


@dataclass
class _Entry:
    snapshot: Snapshot | None = None
    fresh_until: float = 0.0
    generation: int = -1
    task: asyncio.Future[Snapshot] | None = None


class LiveFigures:
    """Snapshots per campaign, computed on demand and shared; cuts per scope, memoised."""

    def __init__(self, services: Services, run: Runner, refresh_seconds: float) -> None:
        self.services = services
        self.run = run
        self.refresh_seconds = refresh_seconds
        self.alerts = AlertLog()
        self.computed = 0  # how many snapshots were computed (tests and the admin page read it)
        self.last_seconds = 0.0
        self._entries: dict[str, _Entry] = {}
        self._views: OrderedDict[tuple[Any, ...], asyncio.Future[Any]] = OrderedDict()
        self._seq = 0

    def _current(self, entry: _Entry, campaign_id: str) -> bool:
        """Whether the kept snapshot may still be served: fresh, and the campaign unchanged since."""
        snapshot = entry.snapshot
        if snapshot is None or time.monotonic() >= entry.fresh_until:
            return False
        runtime = self.services.campaigns
        loaded = runtime.campaigns.get(campaign_id)
        return (
            loaded is not None
            and loaded.campaign is snapshot.campaign
            and entry.generation == runtime.generation
        )

    async def snapshot(self, campaign_id: str) -> Snapshot | None:
        """The campaign's figures, at most `refresh_seconds` old (None: no such campaign loaded)."""
        entry = self._entries.get(campaign_id)
        if entry is None:
            if campaign_id not in self.services.campaigns.campaigns:
                return None
            entry = self._entries[campaign_id] = _Entry()
        if entry.task is None and not self._current(entry, campaign_id):
            inputs = inputs_of(self.services, campaign_id)
            if inputs is None:
                self._entries.pop(campaign_id, None)
                return None
            entry.task = asyncio.ensure_future(self._compute(entry, inputs))
        if entry.task is None:
            return entry.snapshot
        return await asyncio.shield(entry.task)

    async def _compute(self, entry: _Entry, inputs: Any) -> Snapshot:
        started = time.monotonic()
        generation = self.services.campaigns.generation
        services = self.services
        previous = entry.snapshot
        self._seq += 1  # taken now: snapshots of two campaigns computed in turn never share one
        seq = self._seq
        try:
            snapshot: Snapshot = await self.run(
                refresh_snapshot,
                services.repo.engine,
                services.repo,
                inputs,
                self.alerts,
                seq,
                previous,
            )
        except Exception as exc:
            entry.fresh_until = started + self.refresh_seconds  # back off; serve the last one meanwhile
            if entry.snapshot is None:
                raise
            logger.bind(campaign=inputs.campaign.id).warning("board: figures not refreshed: {}", exc)
            return entry.snapshot
        finally:
            entry.task = None
        entry.generation = generation
        if snapshot is previous:  # nothing moved: checked again after the interval
            entry.fresh_until = started + self.refresh_seconds
            return snapshot
        self.computed += 1
        self.last_seconds = snapshot.seconds
        entry.snapshot = snapshot
        self._forget_views(snapshot.campaign.id, snapshot.seq)
        entry.fresh_until = started + max(self.refresh_seconds, COST_RATIO * snapshot.seconds)
        return snapshot

    def _forget_views(self, campaign_id: str, seq: int) -> None:
        """Drop the cuts of the campaign's older snapshots (an admin's page over a thousand groups
        is large; only the newest is ever asked for again)."""
        stale = [k for k in self._views if k[1] == campaign_id and k[2] < seq]
        for key in stale:
            del self._views[key]

    async def view(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """`make()` in the board's thread, once per `key`: (what, campaign id, snapshot seq, scope…)."""
        found = self._views.get(key)
        if found is None:
            found = self._views[key] = asyncio.ensure_future(self.run(make))
            while len(self._views) > VIEWS_KEPT:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(key)
        try:
            result: T = await asyncio.shield(found)
        except Exception:
            self._views.pop(key, None)
            raise
        return result


__all__ = ["COST_RATIO", "LiveFigures"]
