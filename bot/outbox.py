"""The outbox: the single chokepoint for everything the bot sends.

WeChat bans accounts that send too fast, so every message waits here until
the per-group interval, the per-account rate, the pause when switching groups,
the daily budget and any frequency-error pause all allow it. The queue is
persisted; a message is marked `sending` before it is handed to the network and
`sent` after, and a restart never resends one caught in between, so no post
goes out twice: if the `sent` mark cannot be written, the message is kept as
sent in memory and the mark is written later. Handlers must expect replies to be
delayed, and can pass a `replace_key` so a newer version (the latest stock post)
replaces a queued one. A post that is not yet due (`delay`) never holds back one
that is. Private alerts to one member are merged into the one still queued for
them, and private messages take at most `private_burst` sends in a row while a
group post is waiting. The send loop survives any exception: it backs off,
retries, and reports each trouble episode once (`on_trouble`, `on_recovered`).
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loguru import logger
from sqlalchemy.engine import Connection

from bot.clock import Clock
from bot.config import OutboxSettings
from bot.events import Outgoing
from bot.outbox_merge import COALESCE_KINDS, COALESCE_MAX_CHARS, merge_lines
from bot.outbox_pick import Queued as _Queued
from bot.outbox_pick import pick
from bot.outbox_trouble import RecoveredCallback, Trouble, TroubleCallback, call_safely
from bot.storage.outbox_store import OutboxStore
from bot.transports.base import SendError, Transport
from bot.vocab import Priority

RETRY_CAP_SECONDS = 60.0
MAX_ATTEMPTS = 8
DRAIN_TROUBLE_LIMIT_SECONDS = 600.0  # an unbounded drain() gives up on a trouble episode this long


@dataclass(frozen=True)
class Draft:
    """A message to queue with `enqueue_atomic`."""

    text: str
    group_id: str = ""
    member_id: str = ""
    priority: int = Priority.DEFAULT
    kind: str = "reply"
    replace_key: str = ""
    mentions: tuple[str, ...] = ()


@dataclass
class OutboxStats:
    queued: int = 0
    sent: int = 0
    replaced: int = 0
    failed: int = 0
    sent_today: int = 0
    frequency_errors: int = 0


def _target(group_id: str, member_id: str) -> str:
    return f"g:{group_id}" if group_id else f"m:{member_id}"


class Outbox:
    """Rate-limited, prioritised, persistent send queue."""

    def __init__(
        self,
        store: OutboxStore,
        clock: Clock,
        settings: OutboxSettings,
        *,
        timezone: str = "Asia/Shanghai",
        rng: random.Random | None = None,
        on_budget_warning: Callable[[int, int], None] | None = None,
        on_trouble: TroubleCallback | None = None,
        on_recovered: RecoveredCallback | None = None,
        private_burst: int = 1,
        coalesce_max_chars: int = COALESCE_MAX_CHARS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.tz = ZoneInfo(timezone)
        self.rng = rng or random.Random()
        self.on_budget_warning = on_budget_warning
        self.on_trouble = on_trouble
        self.on_recovered = on_recovered
        self.private_burst = max(1, private_burst)
        self.coalesce_max_chars = coalesce_max_chars
        self.transport: Transport | None = None
        self.stats = OutboxStats()
        self._items: dict[int, _Queued] = {}
        self._by_replace: dict[tuple[str, str], int] = {}
        self._coalesce: dict[tuple[str, str], int] = {}  # (member target, kind) -> queued id
        self._unwritten: dict[int, tuple[str, dict[str, Any]]] = {}  # status writes still owed
        self._trouble = Trouble()
        self._private_streak = 0
        self._last_to: dict[str, datetime] = {}
        self._recent: deque[datetime] = deque()
        self._last_target = ""
        self._last_sent_at: datetime | None = None
        self._switch_pause = 0.0
        self._paused_until: datetime | None = None
        self._slow_until: datetime | None = None
        self._freq_streak = 0
        self._day: tuple[int, int, int] | None = None
        self._warned_day: tuple[int, int, int] | None = None
        self._wake = asyncio.Event()

    # -- start-up ------------------------------------------------------------
    def load(self) -> None:
        """Restore the queue and the recent send history after a (re)start."""
        uncertain = self.store.recover_inflight()
        if uncertain:
            logger.warning(
                "outbox: {} message(s) were mid-send at shutdown; marked uncertain, not resent", uncertain
            )
        for row in self.store.queued():
            assert row.id is not None
            item = _Queued(
                priority=row.priority,
                id=row.id,
                target=_target(row.group_id, row.member_id),
                group_id=row.group_id,
                member_id=row.member_id,
                text=row.text,
                mentions=tuple(m for m in row.mentions.split(",") if m),
                kind=row.kind,
                replace_key=row.replace_key,
                attempts=row.attempts,
                not_before=row.not_before,
            )
            self._add(item)
        now = self.clock.now()
        for group_id, member_id, sent_at in self.store.sent_since(now - timedelta(seconds=60)):
            self._recent.append(sent_at)
            self._last_to[_target(group_id, member_id)] = sent_at
            self._last_target = _target(group_id, member_id)
            self._last_sent_at = sent_at
        self._roll_day(now)
        logger.info(
            "outbox: loaded {} queued message(s); {} sent today", len(self._items), self.stats.sent_today
        )

    def attach(self, transport: Transport) -> None:
        self.transport = transport

    # -- queueing --------------------------------------------------------------
    def enqueue(
        self,
        text: str,
        *,
        group_id: str = "",
        member_id: str = "",
        priority: int = Priority.DEFAULT,
        kind: str = "reply",
        replace_key: str = "",
        mentions: tuple[str, ...] = (),
        delay: float = 0.0,
    ) -> int:
        """Queue a message (persisted before this returns); returns its outbox id.

        With `replace_key`, a still-queued message with the same key to the same
        target is replaced by this newer text instead of queuing another. With
        `delay` (bot seconds) it waits at least that long: together they combine
        bursts (one welcome for thirty joins, one 接龙 list for a flurry of orders).
        A private message of a kind in `COALESCE_KINDS` (alerts) is merged into
        the one of that kind still queued to the member, and that id is returned.
        """
        if bool(group_id) == bool(member_id):
            raise ValueError("a message goes to exactly one of group_id or member_id")
        target = _target(group_id, member_id)
        existing = self._by_replace.get((target, replace_key)) if replace_key else None
        if existing is not None and self.replace(existing, text, mentions):
            return existing
        merged = self._merge(target, kind, text) if member_id and not replace_key else None
        if merged is not None:
            return merged
        not_before = self.clock.now() + timedelta(seconds=delay) if delay > 0 else None
        row_id = self.store.insert(
            group_id=group_id,
            member_id=member_id,
            text=text,
            mentions=",".join(mentions),
            priority=int(priority),
            kind=kind,
            replace_key=replace_key,
            now=self.clock.now(),
            not_before=not_before,
        )
        self._add(
            _Queued(
                priority=int(priority),
                id=row_id,
                target=target,
                group_id=group_id,
                member_id=member_id,
                text=text,
                mentions=mentions,
                kind=kind,
                replace_key=replace_key,
                not_before=not_before,
            )
        )
        logger.bind(outbox_id=row_id, target=target, kind=kind).debug("outbox: queued")
        self._wake.set()
        return row_id

    def replace(self, outbox_id: int, text: str, mentions: tuple[str, ...] = ()) -> bool:
        """Give a still-queued message newer text; False if it has left (the database says)."""
        item = self._items.get(outbox_id)
        if item is None or not self.store.replace_text(outbox_id, text, ",".join(mentions)):
            return False
        item.text = text
        item.mentions = mentions
        self.stats.replaced += 1
        logger.bind(outbox_id=outbox_id, target=item.target, kind=item.kind).debug("outbox: replaced queued")
        return True

    def _merge(self, target: str, kind: str, text: str) -> int | None:
        """Fold `text` into the message of `kind` still queued to `target`; its id, or None."""
        row_id = self._coalesce.get((target, kind))
        item = self._items.get(row_id) if row_id is not None else None
        if item is None:
            return None
        merged = merge_lines(item.text, text, self.coalesce_max_chars)
        if merged is None:
            return None
        if merged == item.text or self.replace(item.id, merged, item.mentions):
            return item.id
        return None

    def cancel_queued(self, *, group_id: str, kind: str) -> int:
        """Drop still-queued messages of `kind` to `group_id` that became stale; how many.

        They are marked `cancelled` in the database (never sent, not even after a
        restart). A message already handed to the network is not touched.
        """
        ids = self.store.cancel_queued(group_id=group_id, kind=kind)
        for row_id in ids:
            item = self._items.get(row_id)
            if item is not None:
                self._remove(item)
        if ids:
            logger.bind(group_id=group_id, kind=kind).info("outbox: cancelled {} queued message(s)", len(ids))
        return len(ids)

    def roll(
        self,
        previous_id: int | None,
        render: Callable[[bool], tuple[str, tuple[str, ...]]],
        **enqueue: Any,
    ) -> int:
        """One rolling post that grows while queued and says each thing once.

        `render(True)` is everything so far, to replace the still-queued post
        `previous_id`; `render(False)` is only what a new post must carry, queued
        (with `enqueue`'s arguments) when there is no previous post or it has left.
        Returns the id of the post that now carries the text.
        """
        if previous_id is not None:
            text, mentions = render(True)
            if self.replace(previous_id, text, mentions):
                return previous_id
        text, mentions = render(False)
        return self.enqueue(text, mentions=mentions, **enqueue)

    def enqueue_atomic(
        self,
        drafts: list[Draft],
        guard: Callable[[Connection], bool],
    ) -> list[int] | None:
        """Queue `drafts` in one transaction with `guard(conn)`; nothing is queued if it returns False.

        Timeline jobs use this to write their exactly-once ledger row and their
        posts together: either both are committed or neither is.
        """
        now = self.clock.now()
        rows = [
            {
                "group_id": d.group_id,
                "member_id": d.member_id,
                "text": d.text,
                "mentions": ",".join(d.mentions),
                "priority": int(d.priority),
                "kind": d.kind,
                "replace_key": d.replace_key,
            }
            for d in drafts
        ]
        with self.store.engine.begin() as conn:
            if not guard(conn):
                return None
            ids = self.store.insert_many(conn, rows, now)
        for row_id, d in zip(ids, drafts, strict=True):
            self._add(
                _Queued(
                    priority=int(d.priority),
                    id=row_id,
                    target=_target(d.group_id, d.member_id),
                    group_id=d.group_id,
                    member_id=d.member_id,
                    text=d.text,
                    mentions=d.mentions,
                    kind=d.kind,
                    replace_key=d.replace_key,
                )
            )
        if ids:
            self._wake.set()
        return ids

    def _add(self, item: _Queued) -> None:
        self._items[item.id] = item
        if item.replace_key:
            self._by_replace[(item.target, item.replace_key)] = item.id
        elif item.member_id and item.kind in COALESCE_KINDS:
            self._coalesce[(item.target, item.kind)] = item.id
        self.stats.queued = len(self._items)

    def _remove(self, item: _Queued) -> None:
        self._items.pop(item.id, None)
        if item.replace_key and self._by_replace.get((item.target, item.replace_key)) == item.id:
            del self._by_replace[(item.target, item.replace_key)]
        if self._coalesce.get((item.target, item.kind)) == item.id:
            del self._coalesce[(item.target, item.kind)]
        self.stats.queued = len(self._items)

    def pending(self) -> int:
        return len(self._items)

    # -- pacing ------------------------------------------------------------------
    def _slow_factor(self, now: datetime) -> float:
        if self._slow_until is not None and now < self._slow_until:
            return self.settings.frequency_slowdown
        return 1.0

    def _roll_day(self, now: datetime) -> None:
        local = now.astimezone(self.tz)
        day = (local.year, local.month, local.day)
        if day != self._day:
            self._day = day
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            self.stats.sent_today = self.store.count_sent_since(midnight)

    def _next_day_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.tz)
        return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(
            now.tzinfo
        )

    def _account_ready_at(self, now: datetime) -> datetime:
        """When the account may send again, before per-target rules."""
        ready = now
        if self._paused_until is not None and ready < self._paused_until:
            ready = self._paused_until
        while self._recent and (now - self._recent[0]).total_seconds() >= 60:
            self._recent.popleft()
        limit = max(1, int(self.settings.account_per_minute / self._slow_factor(now)))
        if len(self._recent) >= limit:
            ready = max(ready, self._recent[len(self._recent) - limit] + timedelta(seconds=60))
        if self.stats.sent_today >= self.settings.daily_budget:
            ready = max(ready, self._next_day_start(now))
        return ready

    def _target_ready_at(self, target: str, now: datetime) -> datetime:
        ready = now
        last = self._last_to.get(target)
        if last is not None:
            ready = max(
                ready, last + timedelta(seconds=self.settings.group_interval_seconds * self._slow_factor(now))
            )
        if self._last_sent_at is not None and target != self._last_target:
            ready = max(ready, self._last_sent_at + timedelta(seconds=self._switch_pause))
        return ready

    def _choose(self, now: datetime) -> tuple[_Queued | None, datetime | None]:
        """The best message sendable now, or the earliest time something will be (`outbox_pick`)."""
        account_ready = self._account_ready_at(now)
        if account_ready > now:
            # Paused, over the per-minute rate or the daily budget: nothing can go before then,
            # so skip scanning a possibly long queue on every wake-up.
            return None, account_ready
        return pick(
            self._items.values(),
            now,
            self._target_ready_at,
            private_turn_over=self._private_streak >= self.private_burst,
        )

    # -- sending -----------------------------------------------------------------
    async def pump(self) -> float | None:
        """Send everything the limits allow right now; never raises.

        Returns the bot-time seconds until the next message may go, or None when
        the queue is empty. If anything fails (the database is locked, a bug), the
        failure is logged and reported once per episode, and the return value is
        the back-off before the next attempt.
        """
        try:
            delay = await self._pump()
        except Exception as exc:
            return self._trouble.failed(exc, self.clock.now(), self.on_trouble)
        if self._trouble.active:
            self._trouble.passed(self.clock.now(), self.on_trouble, self.on_recovered)
            if delay is None and self._items:  # the recovery notices were just queued
                return 0.001
        return delay

    async def _pump(self) -> float | None:
        while True:
            self._flush()
            if not self._items:
                return None
            now = self.clock.now()
            self._roll_day(now)
            item, earliest = self._choose(now)
            if item is None:
                assert earliest is not None
                return max(0.001, (earliest - now).total_seconds())
            if self.transport is None:
                return 1.0
            await self._send(item, now)

    def _write_status(self, row_id: int, status: str, **values: Any) -> None:
        """Write a status change; one the database refuses is owed and written before anything else."""
        self._unwritten[row_id] = (status, values)
        self._flush()

    def _flush(self) -> None:
        """Write the owed status changes, oldest first; raises (and keeps them) if the database refuses."""
        while self._unwritten:
            row_id, (status, values) = next(iter(self._unwritten.items()))
            self.store.set_status(row_id, status, **values)
            del self._unwritten[row_id]

    async def _send(self, item: _Queued, now: datetime) -> None:
        assert self.transport is not None
        log = logger.bind(outbox_id=item.id, group_id=item.group_id, member_id=item.member_id, kind=item.kind)
        # If this mark cannot be written the message is not sent now: it stays queued, here and there.
        self.store.set_status(item.id, "sending")
        message = Outgoing(
            text=item.text,
            group_id=item.group_id,
            member_id=item.member_id,
            mentions=item.mentions,
            outbox_id=item.id,
            kind=item.kind,
        )
        try:
            await self.transport.send(message)
        except SendError as exc:
            self._after_failure(item, exc, now)
            return
        except Exception as exc:  # a transport bug must not kill the send loop
            log.exception("outbox: transport raised unexpectedly")
            self._after_failure(item, SendError(str(exc), retryable=True), now)
            return
        # It has left: forget it before writing the mark, so a refused write can never resend it.
        self._remove(item)
        self._recent.append(now)
        self._last_to[item.target] = now
        self._last_target = item.target
        self._last_sent_at = now
        self._private_streak = 0 if item.group_id else self._private_streak + 1
        low, high = self.settings.switch_pause_seconds
        self._switch_pause = self.rng.uniform(low, high)
        self._freq_streak = 0
        self.stats.sent += 1
        self.stats.sent_today += 1
        log.info("sent {}: {}", item.target, item.text[:80].replace("\n", " ⏎ "))
        self._check_budget()
        self._write_status(item.id, "sent", sent_at=now)

    def _after_failure(self, item: _Queued, exc: SendError, now: datetime) -> None:
        item.attempts += 1
        bound = logger.bind(outbox_id=item.id, target=item.target)
        if exc.rate_limited:
            self._freq_streak += 1
            self.stats.frequency_errors += 1
            pause = self.settings.frequency_pause_seconds * (2 ** (self._freq_streak - 1))
            self._paused_until = now + timedelta(seconds=pause)
            self._slow_until = self._paused_until + timedelta(minutes=self.settings.slowdown_minutes)
            bound.warning(
                "outbox: frequency limit hit ({}); pausing all sends for {:.0f}s, then slower", exc, pause
            )
            self._write_status(item.id, "queued", error=str(exc), attempts=item.attempts)
        elif exc.retryable and item.attempts < MAX_ATTEMPTS:
            item.not_before = now + timedelta(seconds=min(RETRY_CAP_SECONDS, 2.0**item.attempts))
            bound.warning("outbox: send failed ({}); retry {} in {}", exc, item.attempts, item.not_before)
            self._write_status(item.id, "queued", error=str(exc), attempts=item.attempts)
        elif exc.retryable and not getattr(self.transport, "connected", True):
            # The network is down, not the message: keep it until the transport is back.
            item.not_before = now + timedelta(seconds=RETRY_CAP_SECONDS)
            self._write_status(item.id, "queued", error=str(exc), attempts=item.attempts)
        else:
            self._remove(item)
            self.stats.failed += 1
            bound.error("outbox: giving up on message after {} attempt(s): {}", item.attempts, exc)
            self._write_status(item.id, "failed", error=str(exc), attempts=item.attempts)

    def _check_budget(self) -> None:
        threshold = int(self.settings.daily_budget * self.settings.budget_warn_ratio)
        if self.stats.sent_today >= threshold and self._warned_day != self._day:
            self._warned_day = self._day
            logger.warning(
                "outbox: {} of the daily budget of {} messages used",
                self.stats.sent_today,
                self.settings.daily_budget,
            )
            call_safely(
                "on_budget_warning", self.on_budget_warning, self.stats.sent_today, self.settings.daily_budget
            )

    def retry_now(self) -> None:
        """Forget per-message backoff (called when a transport reconnects)."""
        for item in self._items.values():
            if item.attempts:
                item.not_before = None
        self._wake.set()

    # -- loops -------------------------------------------------------------------
    async def drain(self, *, max_seconds: float | None = None) -> None:
        """Send until the queue is empty, waiting on the clock (instantly with a fake one)."""
        start = self.clock.now()
        while True:
            delay = await self.pump()
            if delay is None:
                return
            if max_seconds is not None and (self.clock.now() - start).total_seconds() + delay > max_seconds:
                return
            since = self._trouble.since
            if max_seconds is None and since is not None and self._failing_too_long(since):
                logger.error("outbox: giving up draining; the send loop has been failing too long")
                return
            await self.clock.sleep(delay)

    def _failing_too_long(self, since: datetime) -> bool:
        return (self.clock.now() - since).total_seconds() > DRAIN_TROUBLE_LIMIT_SECONDS

    async def run(self) -> None:
        """Send forever: wake when something is queued or the next slot opens.

        `pump` never raises, so only cancellation ends this task.
        """
        while True:
            self._wake.clear()
            delay = await self.pump()
            if self._trouble.active:
                await self.clock.sleep(delay or 0.0)  # back off fully; a wake-up must not cut it short
            else:
                await self.clock.wait(self._wake, delay)
