"""The single order writer: micro-batches from an asyncio queue, acknowledged after commit.

Why one writer: SQLite allows one writer at a time, and several writers in
parallel failed with "database is locked" when measured; one writer fed
micro-batches committed about 9,000 orders/s against about 2,500/s for one
ORM transaction per order. So every order, cancellation and restock of the
process goes through here:

* `enqueue()` puts the operation on the queue and returns at once: a chat
  order is answered from the batch's after-commit callback, so reading the
  next message never waits for the previous order's commit; `submit()` does the
  same and waits for the operation's own result (a restock replies with it);
  `settle()` waits until everything queued so far has committed and been
  answered (shutdown, readers that must see a member's own orders, tests);
* a flush task, started on demand and gone when the queue is empty (nothing to
  start or stop with the app), takes whatever has piled up (up to `max_batch`)
  and applies it in one transaction in a worker thread, so the event loop keeps
  taking messages while the database works, and those become the next batch;
  in the same thread, right after the commit, `read_after(ops, results)` reads
  back what the batch changed (kept as `view` for the callback);
* the next batch is taken and started in the thread as soon as one has committed
  and been read back, so it commits while the loop answers the one before;
* after the commit, `on_commit(ops, results)` runs once per batch on the event
  loop (the selling feature queues each touched group's 接龙 list from it, or marks
  the queued one stale: it is rendered as it leaves, `handlers/selling/chain.py`),
  and only then is each caller's future resolved: nothing is acknowledged that
  is not durable.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from loguru import logger

from bot.storage.write_lock import mark_urgent_thread
from handlers.selling.ops import Operation, OpResult
from handlers.selling.store import OrderStore

CommitCallback = Callable[[list[Operation], list[OpResult]], None]
# Once a batch is answered; it may return steps, the loop reading chat between them.
BatchCallback = Callable[[list[Operation], list[OpResult]], Iterable[object] | None]
ReadAfter = Callable[[list[Operation], list[OpResult]], Any]
# Each queued op with its caller's future (None: `enqueue`); a batch's results and read-back, once committed.
Queued: TypeAlias = list[tuple[Operation, asyncio.Future[OpResult] | None]]
Work: TypeAlias = asyncio.Future[tuple[list[OpResult], Any]]
# A committed batch is answered this many operations at a time, the loop reading chat between
# slices: under a flood a batch holds hundreds of orders, and answering them in one go (replies,
# notices, 接龙 lists) stalled the loop 40-56 ms, the main thread losing the interpreter lock to the
# writer threads every few milliseconds of a long step (docs/performance.md).
ANSWER_SLICE = 25


@dataclass
class WriterStats:
    batches: int = 0
    operations: int = 0
    largest_batch: int = 0
    failed: int = 0  # operations of batches that failed as a whole (logged; never acknowledged)


class OrderWriter:
    """Serialises all stock-changing writes of one process into batched transactions."""

    def __init__(
        self,
        store: OrderStore,
        now: Callable[[], datetime],
        *,
        on_commit: CommitCallback | None = None,
        on_batch: BatchCallback | None = None,
        read_after: ReadAfter | None = None,
        max_batch: int = 500,
        in_thread: bool = True,
    ) -> None:
        self.store = store
        self.now = now
        self.on_commit = on_commit  # answers, a slice of the batch at a time
        self.on_batch = on_batch  # then the whole batch, once, in steps
        self.read_after = read_after
        self.view: Any = None  # what `read_after` returned for the batch being answered
        self.max_batch = max_batch
        self.in_thread = in_thread
        self.stats = WriterStats()
        self._pending: Queued = []
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None  # one thread of its own, made on first batch
        self._queued = 0  # operations ever queued
        self._answered = 0  # of those, answered (in queue order)
        self._catching_up: list[tuple[int, asyncio.Future[None]]] = []

    def enqueue(self, op: Operation) -> None:
        """Queue `op` and return at once; `on_commit` answers it after its batch commits."""
        self._pending.append((op, None))
        self._queued += 1
        self._start()

    async def submit(self, op: Operation) -> OpResult:
        """Queue `op`; return its result once the batch holding it has committed."""
        future: asyncio.Future[OpResult] = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        self._queued += 1
        self._start()
        return await future

    @property
    def idle(self) -> bool:
        """Nothing queued and no batch in flight."""
        return not self._pending and (self._task is None or self._task.done())

    async def settle(self) -> None:
        """Wait until every operation queued so far (and any queued meanwhile) is committed and answered."""
        while not self.idle:
            assert self._task is not None
            await asyncio.wait([self._task])

    async def caught_up(self) -> None:
        """Wait until every operation queued before this call is committed and answered, not
        the ones queued after it: a member's 我的订单 shows their order sent just before, and
        does not wait, under a flood, for a writer that is never idle (`settle` would)."""
        target = self._queued
        if self._answered >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._catching_up.append((target, future))
        await future

    def _count_answered(self, n: int) -> None:
        self._answered += n
        still: list[tuple[int, asyncio.Future[None]]] = []
        for target, future in self._catching_up:
            if target > self._answered:
                still.append((target, future))
            elif not future.done():
                future.set_result(None)
        self._catching_up = still

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush(), name="order-writer")

    async def submit_many(self, ops: list[Operation]) -> list[OpResult]:
        return list(await asyncio.gather(*(self.submit(op) for op in ops)))

    async def _flush(self) -> None:
        running = self._start_batch()
        while running is not None:
            batch, work = running
            ops = [op for op, _ in batch]
            try:
                results, view = await work
            except Exception as exc:  # the whole batch failed even op by op: tell every caller
                logger.opt(exception=True).error("order writer: batch of {} failed", len(ops))
                self.stats.failed += len(ops)
                for _, future in batch:
                    if future is not None and not future.done():
                        future.set_exception(exc)
                self._count_answered(len(batch))
                running = self._start_batch()
                continue
            # The next batch commits in the writer's thread while the loop answers this one:
            # answering 500 orders a slice at a time, chat read between, took the loop 25-40 ms
            # under a flood, and the thread sat idle all that time (docs/performance.md).
            following = self._start_batch() if self.in_thread else None
            self.view = view
            self.stats.batches += 1
            self.stats.operations += len(ops)
            self.stats.largest_batch = max(self.stats.largest_batch, len(ops))
            await self._answer(batch, ops, results)
            self.view = None
            running = following if following is not None else self._start_batch()

    def _start_batch(self) -> tuple[Queued, Work] | None:
        """Take the next batch off the queue and start committing it: in the writer's thread,
        or here and now when the writer runs on the loop (tests). None when nothing is queued."""
        if not self._pending:
            return None
        batch = self._pending[: self.max_batch]
        del self._pending[: len(batch)]
        ops = [op for op, _ in batch]
        if self.in_thread:
            return batch, self._in_own_thread(ops)
        work: Work = asyncio.get_running_loop().create_future()
        try:
            work.set_result(self._apply(ops, self.now()))
        except Exception as exc:
            work.set_exception(exc)
        return batch, work

    async def _answer(self, batch: Queued, ops: list[Operation], results: list[OpResult]) -> None:
        """Each caller's answer, in queue order, `ANSWER_SLICE` at a time; then the whole batch."""
        for start in range(0, len(ops), ANSWER_SLICE):
            if start:
                await asyncio.sleep(0)  # the loop reads chat between slices
            end = start + ANSWER_SLICE
            answered, their_results = ops[start:end], results[start:end]
            if self.on_commit is not None:
                try:
                    self.on_commit(answered, their_results)
                except Exception:
                    logger.opt(exception=True).error("order writer: after-commit callback failed")
            for (_, future), result in zip(batch[start:end], their_results, strict=True):
                if future is not None and not future.done():
                    future.set_result(result)
            self._count_answered(len(answered))
        if self.on_batch is not None:
            try:
                for _ in self.on_batch(ops, results) or ():
                    await asyncio.sleep(0)  # a post into every group of a campaign: chat read between
            except Exception:
                logger.opt(exception=True).error("order writer: after-batch callback failed")

    def _in_own_thread(self, ops: list[Operation]) -> Work:
        """Start applying a batch now (not when the loop next runs) in the writer's own thread,
        not the loop's shared pool: batches are serial anyway, and a dedicated thread neither
        waits behind other features' work in the pool (a dictionary load, a monitor check) nor
        moves from thread to thread. The thread is marked urgent: on SQLite its batches go
        through the write gate before the routine writers' (bot/storage/write_lock.py)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="order-writer", initializer=mark_urgent_thread
            )
        call = contextvars.copy_context().run
        return asyncio.get_running_loop().run_in_executor(self._executor, call, self._apply, ops, self.now())

    def _apply(self, ops: list[Operation], now: datetime) -> tuple[list[OpResult], Any]:
        """Commit the batch, then read back what it changed (a failed read-back only costs a re-read)."""
        results = self.store.apply(ops, now)
        view = None
        if self.read_after is not None:
            try:
                view = self.read_after(ops, results)
            except Exception:
                logger.opt(exception=True).warning("order writer: reading back a committed batch failed")
        return results, view
