"""The outbox's send loop: one pass writes what is owed, then sends what the limits allow.

Each pass first commits the table writes the queue owes (new rows, newer texts,
cancellations, earlier status changes) in one transaction, in a worker thread
when the clock is the system's. A message is handed to the network only after a
transaction that commits its `sending` mark, after everything owed before it,
and that mark only lands on a row that is committed and still `queued`. So
nothing leaves that the table does not know, and a crash mid-send leaves a
`sending` row that the next start marks uncertain and never resends. The `sent`
mark is owed like any other write and committed at the end of the pass (or with
the next `sending` mark): losing it in a crash leaves the row `sending`, which is
again never resent. The loop survives any exception: it backs off, retries, and
reports each trouble episode once (`on_trouble`, `on_recovered`).

Rendered at send (`render_at_send`, `mark_stale`): a feature whose rolling post changes
far more often than it can leave (the 接龙 list: a batch of orders every few ms, one post
per group per window) queues it once with rendered text and afterwards only marks it
stale, in memory, with no write. The kind's renderer is called once, as the post is
marked `sending`, and what it returns goes into the row with that mark, so the table,
a restart and the transport all see the text that left. The row always holds sendable
text: the last text written, older than the post will be but never torn. After a restart
every loaded row counts as stale, so a kind whose renderer is registered by then is
rendered afresh from what is committed; a renderer that returns None (or fails) leaves
the stored text to be sent. A picture is never rendered again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from loguru import logger

from bot.clock import Clock
from bot.config import OutboxSettings
from bot.events import IMAGE_KIND, Outgoing
from bot.group_filter import GroupFilter
from bot.outbox_pacing import OutboxStats, Pacing
from bot.outbox_pick import Chooser, Queued
from bot.outbox_queue import OutboxQueue
from bot.outbox_trouble import RecoveredCallback, Trouble, TroubleCallback
from bot.storage.outbox_store import OutboxStore, status_values
from bot.transports.base import SendError, Transport

RETRY_CAP_SECONDS = 60.0
MAX_ATTEMPTS = 8
DRAIN_TROUBLE_LIMIT_SECONDS = 600.0  # an unbounded drain() gives up on a trouble episode this long
SENT_TIMES_KEPT = 1024  # the latest sends' times, so `sent_at` needs no read (stock posts ask)

SendRender = Callable[[Queued], tuple[str, tuple[str, ...]] | None]
"""A kind's renderer at send: the post's (text, mentions) now, or None to send the stored text."""


class SendLoop:
    """The sending half of `Outbox` (a mixin: the queueing half lives in `bot/outbox.py`)."""

    store: OutboxStore
    clock: Clock
    settings: OutboxSettings
    queue: OutboxQueue
    pacing: Pacing
    chooser: Chooser
    stats: OutboxStats
    group_filter: GroupFilter
    transport: Transport | None
    on_budget_warning: Callable[[int, int], None] | None
    on_trouble: TroubleCallback | None
    on_recovered: RecoveredCallback | None
    private_burst: int
    write_in_thread: bool
    _private_streak: int
    _trouble: Trouble
    _wake: asyncio.Event
    _sent_times: dict[int, datetime]
    _renderers: dict[str, SendRender]

    def _remove(self, item: Queued) -> None:
        self.queue.remove(item)
        self.stats.queued = len(self.queue)

    # -- rendered at send --------------------------------------------------------------
    def render_at_send(self, kind: str, render: SendRender) -> None:
        """Render stale posts of `kind` with `render` as they leave (see the module docstring)."""
        if kind == IMAGE_KIND:
            raise ValueError("a picture's row holds a path: it is never rendered again")
        self._renderers[kind] = render

    def mark_stale(self, outbox_id: int) -> bool:
        """The still-queued post `outbox_id` will say more when it leaves: render it then, not now.

        Costs no write: the row keeps its last text until the `sending` mark. False if the
        post has left or is leaving now (the caller queues a new one), or if its kind has
        no renderer (the caller must give the text itself, with `replace`).
        """
        item = self.queue.replaceable(outbox_id)
        if item is None or item.kind not in self._renderers:
            return False
        item.stale = True
        return True

    def _render_stale(self, item: Queued, mark: dict[str, Any]) -> None:
        """Give a stale post its text as of now, into `mark` too; keep the stored text if that fails."""
        item.stale = False
        render = self._renderers.get(item.kind)
        if render is None:
            return
        try:
            fresh = render(item)
        except Exception:  # a renderer bug must not stop the send loop: the stored text still reads right
            logger.opt(exception=True).bind(outbox_id=item.id, kind=item.kind).error(
                "outbox: rendering at send failed; sending the stored text"
            )
            return
        if fresh is not None and fresh != (item.text, item.mentions):
            item.text, item.mentions = fresh
            mark["text"], mark["mentions"] = item.text, ",".join(item.mentions)

    # -- writing -----------------------------------------------------------------------
    async def flush(self) -> None:
        """Commit every owed write of the queue now, off the event loop; raises if refused."""
        await self._write()

    async def _write(self, *extra: tuple[str, int, dict[str, Any]]) -> bool:
        if not extra and not self.store.owed():
            return False
        if self.write_in_thread:
            return await asyncio.to_thread(self.store.write, extra)
        return self.store.write(extra)

    # -- choosing ------------------------------------------------------------------------
    def _target_ready_at(self, target: str, now: datetime) -> datetime:
        return self.pacing.target_ready_at(target, now)

    def _choose(self, now: datetime) -> tuple[Queued | None, datetime | None]:
        """The best message sendable now, or the earliest time something will be (`outbox_pick.Chooser`)."""
        account_ready = self.pacing.account_ready_at(now)
        if account_ready > now:
            # Paused, over the per-minute rate or the daily budget: nothing can go before then,
            # so skip even the chooser's few steps on every wake-up.
            return None, account_ready
        item, earliest = self.chooser.choose(
            now, private_turn_over=self._private_streak >= self.private_burst
        )
        if item is not None:
            # The chooser's index is an optimisation; the pacing is the rule that keeps the account
            # unbanned. One O(1) check of the choice against it, before anything leaves.
            ready = self._target_ready_at(item.target, now)
            if ready > now:
                logger.bind(outbox_id=item.id, target=item.target).error(
                    "outbox: chooser picked a target not ready until {}; re-indexing", ready
                )
                self.chooser.reset()
                return None, ready
        return item, earliest

    # -- sending -----------------------------------------------------------------------
    async def pump(self) -> float | None:
        """Write what is owed and send everything the limits allow right now; never raises.

        Returns the bot-time seconds until the next message may go, or None when
        nothing is queued or owed. If anything fails (the database is locked, a bug),
        the failure is logged and reported once per episode, and the return value is
        the back-off before the next attempt.
        """
        try:
            delay = await self._pump()
        except Exception as exc:
            return self._trouble.failed(exc, self.clock.now(), self.on_trouble)
        if self._trouble.active:
            self._trouble.passed(self.clock.now(), self.on_trouble, self.on_recovered)
            if delay is None and (self.queue or self.store.owed()):  # the recovery notices were just queued
                return 0.001
        return delay

    async def _pump(self) -> float | None:
        await self._write()
        while True:
            if not self.queue:
                await self._write()  # the `sent` marks of this pass
                return None
            now = self.clock.now()
            self.pacing.roll_day(now)
            item, earliest = self._choose(now)
            if item is None or self.transport is None:
                await self._write()
                if item is None:
                    assert earliest is not None
                    return max(0.001, (earliest - now).total_seconds())
                return 1.0
            # A message in flight finishes even if the loop is cancelled (shutdown): its `sending`
            # mark may already be committed, and a send cut off there would strand it unsent.
            in_flight = asyncio.ensure_future(self._send(item, now))
            try:
                await asyncio.shield(in_flight)
            except asyncio.CancelledError:
                await in_flight
                raise

    async def _mark_sending(self, item: Queued) -> bool:
        """Commit everything owed and then `item`'s `sending` mark; whether the mark landed.

        A stale post is rendered here (`render_at_send`), and a group post is masked here, once
        per send rather than per enqueue or replace, and the (masked) text goes into the row with
        the mark: the table, a restart and the transport all only ever see what the group saw.
        A picture's row holds the path of its file, which is no text to mask (masking digits
        in it would send another file, or none): what a picture shows is masked by whoever draws it.
        """
        before = (item.text, item.mentions, item.stale)
        item.sending = True
        mark = status_values("sending")
        if item.stale and item.kind != IMAGE_KIND:
            self._render_stale(item, mark)
        if item.group_id and item.kind != IMAGE_KIND:
            shown = self.group_filter(item.text)
            if shown != item.text:
                mark["text"] = item.text = shown
        try:
            marked = await self._write(("status", item.id, mark))
        except BaseException:
            # Not marked (or not known to be): it stays queued here and there, with the text the
            # table holds, so the next attempt renders, masks and writes it again.
            item.sending = False
            item.text, item.mentions, item.stale = before
            raise
        if not marked:  # its row is not `queued` in the table: sending it could double it
            item.sending = False
            self._remove(item)
            self.stats.failed += 1
            logger.bind(outbox_id=item.id).error("outbox: row not queued in the table; not sending it")
        return marked

    async def _send(self, item: Queued, now: datetime) -> None:
        assert self.transport is not None
        log = logger.bind(outbox_id=item.id, group_id=item.group_id, member_id=item.member_id, kind=item.kind)
        if not await self._mark_sending(item):
            return
        now = self.clock.now()  # the mark took a moment of the clock: a thread on the system clock
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
            item.sending = False
            self._after_failure(item, exc, now)
            return
        except Exception as exc:  # a transport bug must not kill the send loop
            item.sending = False
            log.exception("outbox: transport raised unexpectedly")
            self._after_failure(item, SendError(str(exc), retryable=True), now)
            return
        # It has left: forget it; its `sent` mark is owed, written with the next write of the pass.
        self._remove(item)
        self._sent_times[item.id] = now
        if len(self._sent_times) > SENT_TIMES_KEPT:
            del self._sent_times[next(iter(self._sent_times))]
        self.pacing.sent(item.target, now)
        self._private_streak = 0 if item.group_id else self._private_streak + 1
        log.info("sent {}: {}", item.target, item.text[:80].replace("\n", " ⏎ "))
        self.pacing.check_budget(self.on_budget_warning)
        self.store.status_behind(item.id, status_values("sent", sent_at=now))

    def _after_failure(self, item: Queued, exc: SendError, now: datetime) -> None:
        item.attempts += 1
        bound = logger.bind(outbox_id=item.id, target=item.target)
        back = status_values("queued", error=str(exc), attempts=item.attempts)
        if exc.rate_limited:
            pause = self.pacing.rate_limited(now)
            bound.warning(
                "outbox: frequency limit hit ({}); pausing all sends for {:.0f}s, then slower", exc, pause
            )
            self.store.status_behind(item.id, back)
        elif exc.retryable and item.attempts < MAX_ATTEMPTS:
            self.queue.set_not_before(
                item, now + timedelta(seconds=min(RETRY_CAP_SECONDS, 2.0**item.attempts))
            )
            bound.warning("outbox: send failed ({}); retry {} in {}", exc, item.attempts, item.not_before)
            self.store.status_behind(item.id, back)
        elif exc.retryable and not getattr(self.transport, "connected", True):
            # The network is down, not the message: keep it until the transport is back.
            self.queue.set_not_before(item, now + timedelta(seconds=RETRY_CAP_SECONDS))
            self.store.status_behind(item.id, back)
        else:
            self._remove(item)
            self.stats.failed += 1
            bound.error("outbox: giving up on message after {} attempt(s): {}", item.attempts, exc)
            self.store.status_behind(item.id, status_values("failed", error=str(exc), attempts=item.attempts))

    def retry_now(self) -> None:
        """Forget per-message backoff (called when a transport reconnects)."""
        for item in self.queue:
            if item.attempts and item.not_before is not None:
                self.queue.set_not_before(item, None)
        self._wake.set()

    # -- loops -----------------------------------------------------------------------------
    async def drain(self, *, max_seconds: float | None = None) -> None:
        """Send until the queue is empty, waiting on the clock (instantly with a fake one).

        Whatever happens, what is owed to the table is written before this returns (at
        shutdown, what is still queued is then loaded and sent by the next start).
        """
        start = self.clock.now()
        try:
            while True:
                delay = await self.pump()
                if delay is None:
                    return
                if (
                    max_seconds is not None
                    and (self.clock.now() - start).total_seconds() + delay > max_seconds
                ):
                    return
                since = self._trouble.since
                if max_seconds is None and since is not None and self._failing_too_long(since):
                    logger.error("outbox: giving up draining; the send loop has been failing too long")
                    return
                await self.clock.sleep(delay)
        finally:
            await self._write_last()

    async def _write_last(self) -> None:
        try:
            await self._write()
        except Exception as exc:
            logger.opt(exception=exc).error(
                "outbox: {} queue write(s) could not be committed at shutdown; lost", self.store.owed()
            )

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
