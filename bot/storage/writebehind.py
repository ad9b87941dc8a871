"""A single writer thread that commits row operations behind the event loop, in micro-batches.

Why: the inbound path used to insert and commit on the event loop for every message
(about 600 µs of a 900 µs message). Here the loop only queues each `RowOp`'s values;
one thread, on one connection, takes whatever has piled up (up to `max_batch`) and
commits it as one transaction, so the loop keeps reading messages while the database
works and those messages become the next batch (the order writer's pattern, in a thread
of its own because nothing on the loop waits for these rows).

Contract:

* `put(*ops)` costs a lock and an append (a wake-up only when the writer sleeps) of the
  op's values as a plain tuple (`bot.storage.rowops.Entry`: the collector stops walking it); the
  writer then lingers `linger` seconds so a micro-batch gathers. The thread starts on
  demand, ends after `idle_seconds` without work, and stops when nobody holds the writer.
* Ops run in the order they were put. Consecutive ops with the same statement run as one
  `executemany`. Statements should be idempotent (ON CONFLICT DO NOTHING / DO UPDATE):
  a batch that failed is retried whole.
* A transient failure (a locked database, a full disk, an I/O error) keeps the batch
  and retries it with a doubling back-off (`backoff_start` to `backoff_cap` seconds); a
  waiter (`written()`, `flush()`) cuts the back-off short. Any other failure (a bug, a
  constraint the statement does not absorb) is retried op by op and the ops that still fail
  are dropped and logged, so one bad row cannot wedge the queue.
* `on_trouble(exc)` is called once when an episode of failures starts and `on_recovered()`
  once when it ends; they are handed to the event loop the ops came from
  (`call_soon_threadsafe`), or, with no loop, run by the next `flush()` caller.
* `written()` lets a coroutine wait, without blocking the loop, until everything put so far
  is committed (it raises the failure if the attempt fails); `flush()` is the same for
  synchronous callers (shutdown, the CLI, tests, readers of the written tables).
* `in_process` (a SQLite file, POSIX): each batch's SQL runs in a process of its own
  (`bot.storage.sql_process`), off this interpreter's lock; the contract above is unchanged.
* At most `max_queued` ops wait in memory; beyond that (a long outage) the oldest are
  dropped with an error log. What a crash may lose: the ops not yet committed, at most
  a few milliseconds' worth in normal operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from loguru import logger
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.storage.errors import describe
from bot.storage.multirow import MultiRowInserts, execute_prepared
from bot.storage.rowops import Entry, RowOp, Shapes, runs_of
from bot.storage.sql_process import ChildWriter, Held, can_have_process


@dataclass
class WriteBehindStats:
    batches: int = 0
    ops: int = 0
    largest_batch: int = 0
    failures: int = 0
    dropped: int = 0


Waiter = tuple[int, asyncio.AbstractEventLoop, "asyncio.Future[None]"]


def is_transient(exc: BaseException) -> bool:
    """Failures worth retrying as they are: the database or its disk, not the rows.

    A missing table is not one of them: it does not come back by waiting (a database file
    deleted under a running writer, as a test's temporary folder is).
    """
    if isinstance(exc, OperationalError) and "no such table" in str(exc):
        return False
    if isinstance(exc, OperationalError | OSError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class WriteBehind:
    """Commits queued `RowOp`s in batches from one thread, on one connection."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str = "write-behind",
        max_batch: int = 2_000,
        max_queued: int = 200_000,
        idle_seconds: float = 5.0,
        backoff_start: float = 0.05,
        backoff_cap: float = 5.0,
        linger: float = 0.005,
        on_trouble: Callable[[BaseException], object] | None = None,
        on_recovered: Callable[[], object] | None = None,
        in_process: bool = False,
    ) -> None:
        self.engine = engine
        self._in_process = in_process and can_have_process(engine)
        self.name = name
        self.max_batch = max_batch
        self.max_queued = max_queued
        self.idle_seconds = idle_seconds
        self.backoff_start = backoff_start
        self.backoff_cap = backoff_cap
        self.linger = linger
        self.on_trouble = on_trouble
        self.on_recovered = on_recovered
        self.stats = WriteBehindStats()
        self._multirow = MultiRowInserts()  # only the writer thread uses it
        self._cond = threading.Condition()
        self._queue: deque[Entry] = deque()
        self._shapes = Shapes()  # numbered under `_cond`: `put` may come from any thread
        self._last_seq = 0  # seq of the last op put
        self._done_seq = 0  # every op up to here is committed (or dropped)
        self._failures = 0  # failed attempts so far (flush() watches it)
        self._failing: BaseException | None = None  # the open episode's first failure
        self._backoff = 0.0
        self._urgent = False
        self._sleeping = False  # the writer waits for work: the next put must wake it
        self._waiters: list[Waiter] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._notices: list[Callable[[], object]] = []  # callbacks waiting for a caller (no loop)
        self._thread: threading.Thread | None = None

    # -- the loop's side ---------------------------------------------------------------
    @property
    def failing(self) -> bool:
        """True while an episode of failed attempts is open."""
        return self._failing is not None

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def ops_put(self) -> int:
        """How many ops were ever put: grows with every one (a cheap sign of activity)."""
        return self._last_seq

    def put(self, *ops: RowOp) -> None:
        """Queue ops for the next batch; never blocks on the database."""
        if not ops:
            return
        if self._loop is None:
            with contextlib.suppress(RuntimeError):  # no loop: a synchronous caller
                self._loop = asyncio.get_running_loop()
        with self._cond:
            for op in ops:
                shape, values = self._shapes.of(op)
                self._last_seq += 1
                self._queue.append((self._last_seq, shape, values, op.rank))
            overflow = len(self._queue) - self.max_queued
            if overflow > 0:
                for _ in range(overflow):
                    seq = self._queue.popleft()[0]
                    self._done_seq = max(self._done_seq, seq)
                self.stats.dropped += overflow
                logger.error("{}: {} op(s) dropped, {} still queued", self.name, overflow, len(self._queue))
            self._start()
            if self._sleeping:  # otherwise the writer is busy or lingering: it will find the ops
                self._cond.notify()

    async def written(self) -> None:
        """Wait until everything put so far is committed; raise the failure if that attempt fails."""
        loop = asyncio.get_running_loop()
        self._loop = self._loop or loop
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._done_seq >= self._last_seq:
                return
            self._waiters.append((self._last_seq, loop, future))
            self._urgent = True
            self._start()
            self._cond.notify()
        await future

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Block until everything put so far is committed; False if an attempt failed or time ran out."""
        with self._cond:
            target, failures = self._last_seq, self._failures
            if self._done_seq < target:
                self._urgent = True
                self._start()
                self._cond.notify()
                self._cond.wait_for(
                    lambda: self._done_seq >= target or self._failures > failures, timeout=timeout
                )
            ok = self._done_seq >= target
            notices, self._notices = self._notices, []
        for notice in notices:
            _run_notice(self.name, notice)
        return ok

    def close(self, timeout: float = 10.0) -> bool:
        """Flush what is queued (retrying until `timeout`), for shutdown; False if rows were left."""
        deadline = time.monotonic() + timeout
        while not self.flush(timeout=max(0.0, deadline - time.monotonic())):
            if time.monotonic() >= deadline:
                logger.error("{}: {} op(s) not written at shutdown", self.name, self.pending)
                return False
            with self._cond:
                self._cond.wait(timeout=min(self.backoff_cap, max(0.0, deadline - time.monotonic())))
        return True

    # -- the writer thread ----------------------------------------------------------------
    def _start(self) -> None:
        """Start the writer if it is not running (the caller holds the lock)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=WriteBehind._run, args=(weakref.ref(self),), name=self.name, daemon=True
            )
            self._thread.start()

    @staticmethod
    def _run(ref: weakref.ref[WriteBehind]) -> None:
        """The thread holds its writer weakly between batches: a writer nobody holds any more
        (an app a test dropped without shutting down) stops, instead of retrying forever."""
        held = Held()
        try:
            while True:
                writer = ref()
                if writer is None:
                    return
                if writer._in_process and held.child is None:
                    held.child = ChildWriter(writer.engine, writer.name, writer._shapes)
                go_on = writer._step(held)
                del writer
                if not go_on:
                    return
        finally:
            held.close()

    def _step(self, held: Held) -> bool:
        """One batch: wait for it, commit it (or keep it for a retry); False when the thread should end."""
        batch = self._next_batch()
        if batch is None:
            return False
        try:
            if held.child is None or not held.child.commit(batch):
                held.conn = held.conn or self.engine.connect()
                self._commit(held.conn, batch)
        except Exception as exc:
            held.drop_connection()
            if is_transient(exc):
                self._failed(batch, exc)
                return True
            try:
                self._one_by_one(batch, exc, held.child)
            except Exception as again:  # could not even connect: keep the batch, back off
                self._failed(batch, again)
                return True
        self._committed(batch)
        return True

    def _next_batch(self) -> list[Entry] | None:
        """Wait for work (ending the thread after `idle_seconds` without any); None to stop."""
        with self._cond:
            while not self._queue:
                self._sleeping = True
                woken = self._cond.wait(timeout=self.idle_seconds)
                self._sleeping = False
                if not woken and not self._queue:
                    self._thread = None
                    return None
            if self._backoff and not self._urgent:
                self._cond.wait_for(lambda: self._urgent, timeout=self._backoff)
            elif self.linger and not self._urgent and len(self._queue) < self.max_batch:
                # Let a micro-batch gather: one wake-up and one commit per `linger`, not per message.
                self._cond.wait_for(lambda: self._urgent, timeout=self.linger)
            self._urgent = False
            return list(islice(self._queue, self.max_batch))

    def _commit(self, conn: Connection, batch: list[Entry]) -> None:
        # Built before the transaction: the less done holding the write gate, the sooner the
        # order writer gets it.
        statements: list[tuple[Any, Any]] = []
        for run in runs_of(batch):
            found = self._shapes.values_run_of(run)
            chunks = None if found is None else self._multirow.prepare_values(conn.dialect, *found)
            statements += chunks if chunks is not None else [self._shapes.run_of(run)]
        with conn.begin():
            for statement, params in statements:
                execute_prepared(conn, statement, params)

    def _one_by_one(self, batch: list[Entry], first: BaseException, child: ChildWriter | None) -> None:
        """After a non-transient failure: each op in its own transaction; drop the ones that fail."""
        logger.opt(exception=first).error("{}: batch of {} failed; retrying op by op", self.name, len(batch))
        failures = None if child is None else child.each(batch)
        if failures is not None:
            for entry, failure in zip(batch, failures, strict=True):
                if failure is not None:
                    self._drop(entry, f"{failure[0]}: {failure[1]}")
            return
        with self.engine.connect() as conn:
            for entry in batch:
                try:
                    self._commit(conn, [entry])
                except Exception as exc:
                    self._drop(entry, describe(exc))

    def _drop(self, entry: Entry, why: str) -> None:
        self.stats.dropped += 1
        params = dict(self._shapes.run_of([entry])[1][0])
        logger.error("{}: op dropped ({}): {}", self.name, why, params)

    def _committed(self, batch: list[Entry]) -> None:
        last = batch[-1][0]
        with self._cond:
            while self._queue and self._queue[0][0] <= last:
                self._queue.popleft()
            self._done_seq = max(self._done_seq, last)
            self.stats.batches += 1
            self.stats.ops += len(batch)
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            recovered = self._failing is not None
            self._failing, self._backoff = None, 0.0
            ready = [w for w in self._waiters if w[0] <= self._done_seq]
            self._waiters = [w for w in self._waiters if w[0] > self._done_seq]
            if recovered and self.on_recovered is not None:
                self._notify(self.on_recovered)
            self._cond.notify_all()
        for _, loop, future in ready:
            _settle(loop, future, None)
        if recovered:
            logger.warning("{}: writing again", self.name)

    def _failed(self, batch: list[Entry], exc: BaseException) -> None:
        last = batch[-1][0]
        with self._cond:
            self.stats.failures += 1
            self._failures += 1
            started = self._failing is None
            if started:
                self._failing = exc
            self._backoff = min(self.backoff_cap, max(self.backoff_start, self._backoff * 2))
            ready = [w for w in self._waiters if w[0] <= last]
            self._waiters = [w for w in self._waiters if w[0] > last]
            if started and self.on_trouble is not None:
                trouble = self.on_trouble
                self._notify(lambda: trouble(exc))
            self._cond.notify_all()
        for _, loop, future in ready:
            _settle(loop, future, exc)
        if started:
            logger.opt(exception=exc).error(
                "{}: commit failed; keeping {} op(s) and retrying", self.name, len(self._queue)
            )
        else:
            logger.warning("{}: still failing: {}", self.name, describe(exc))

    def _notify(self, callback: Callable[[], object]) -> None:
        """Run an episode callback on the loop the ops came from, or at the next flush().

        Called with the lock held, before waiters are woken: a waiter then finds the
        callback scheduled ahead of its own wake-up.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(_run_notice, self.name, callback)
                return
            except RuntimeError:  # the loop closed in between
                pass
        self._notices.append(callback)


def _run_notice(name: str, callback: Callable[[], object]) -> None:
    try:
        callback()
    except Exception:
        logger.opt(exception=True).error("{}: trouble callback failed", name)


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], exc: BaseException | None) -> None:
    def settle() -> None:
        if future.done():
            return
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)

    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle)
