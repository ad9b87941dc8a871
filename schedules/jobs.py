"""The jobs facade: the one module that imports APScheduler.

Everything the bot schedules goes through `Jobs`: it builds every job id (one function per
kind of job, below), chooses grace and coalescing per kind (`Grace`), turns bot time into the
scheduler's time (`clock.to_real`, so rehearsals can release jobs on a virtual clock), and
reports missed jobs. Job bodies stay module-level functions with plain arguments in their
feature packages; they are passed here by reference ("package.module:function") because
APScheduler's persistent job store imports them by name at start-up.

Only one scheduler may run a job store: APScheduler 3 cannot share one between processes.
With several accounts every account process writes its jobs to the one store from a paused
scheduler, and only the process elected through the database (`bot.storage.election`) runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
)
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import datetime_to_utc_timestamp, iscoroutinefunction_partial, utc_timestamp_to_datetime
from loguru import logger
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.config import SchedulerSettings

JOBS_TABLE = "scheduled_jobs"
# A job whose time passed in a rehearsal's busy second is not "missed": 2 real seconds at least.
MIN_REAL_GRACE_SECONDS = 2


# ----------------------------------------------------------------------------------- job ids
CAMPAIGN_JOB_PREFIX = "campaign:"
HEALTH_JOB_ID = "health"
DAILY_SUMMARY_JOB_ID = "daily-summary"


def campaign_node_job_id(campaign_id: str, node_id: str) -> str:
    """One job per campaign node (never one per group): `campaign:<id>:<node>`."""
    return f"{CAMPAIGN_JOB_PREFIX}{campaign_id}:{node_id}"


def parse_campaign_node_job_id(job_id: str) -> tuple[str, str] | None:
    """(campaign id, node id) of a campaign node's job id; None for any other job."""
    parts = job_id.split(":", 2)
    if len(parts) != 3 or f"{parts[0]}:" != CAMPAIGN_JOB_PREFIX:
        return None
    return parts[1], parts[2]


def monitor_job_id(campaign_id: str) -> str:
    return f"monitor:{campaign_id}"


def countdown_job_id(campaign_id: str, group_id: str, seconds: int) -> str:
    """A leader's `/countdown`: one per (campaign, group, seconds before the opening)."""
    return f"countdown:{campaign_id}:{group_id}:{seconds}"


def redpacket_close_job_id(burst_id: str) -> str:
    return f"redpacket:{burst_id}:close"


# ----------------------------------------------------------------------------------- grace
class Grace(Enum):
    """How late a job may still run, chosen per kind of job (never APScheduler's 1 s default).

    CRITICAL: openings and closings (the config's `critical_grace_seconds`); INFO: posts that
    are stale when late (`info_grace_seconds`); UNBOUNDED: results that are right however late.
    A plain number is a grace in seconds of the job's own clock.
    """

    CRITICAL = "critical"
    INFO = "info"
    UNBOUNDED = "unbounded"


GraceSpec = Grace | float


class JobEventLike(Protocol):
    """What listeners get: the id of the job the event is about."""

    @property
    def job_id(self) -> str: ...


@dataclass(frozen=True)
class Waiting:
    """A job with a next run, as a rehearsal sees it (`schedules.virtual_time`)."""

    id: str
    next_run_time: datetime | None  # None while paused
    interval: timedelta | None  # an interval job's period; None for one-off and daily jobs
    end_date: datetime | None


def _view(job: Job) -> Waiting:
    interval = job.trigger.interval if isinstance(job.trigger, IntervalTrigger) else None
    end = job.trigger.end_date if isinstance(job.trigger, IntervalTrigger) else None
    return Waiting(job.id, job.next_run_time, interval, end)


class _CampaignMissesLoggedByRuntime(logging.Filter):
    """Drop APScheduler's "Run time of job … was missed by 6:19:30.932790" for campaign nodes.

    The campaign runtime logs each miss itself, with the node's due time in the bot's timezone
    and a duration a person can read, and records it as skipped; APScheduler's line said the
    same thing in UTC and raw `timedelta` form, first thing on a newcomer's screen.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if "was missed by" not in str(record.msg) or not isinstance(record.args, tuple) or not record.args:
            return True
        return not str(getattr(record.args[0], "id", "")).startswith(CAMPAIGN_JOB_PREFIX)


_MISS_FILTER = _CampaignMissesLoggedByRuntime()


class PassBatchedJobStore(SQLAlchemyJobStore):
    """`SQLAlchemyJobStore` whose writes about the jobs a pass ran are made in one transaction.

    APScheduler, going through the due jobs on the event loop, updates each periodic job's next
    run and removes each finished one-shot job in a write transaction of its own. At an opening
    of a hundred campaigns that was two hundred write transactions in one loop turn, each first
    waiting for SQLite's write lock behind the writer threads: the scheduler's wake-up held the
    loop 40-70 ms at T (docs/performance.md). Here those writes are remembered and made together
    (one executemany UPDATE, one DELETE) when the pass asks for its next wake-up time
    (`get_next_run_time`, which ends every pass).

    That transaction is written behind, in the store's own thread: made on the loop, it waited
    for SQLite's write lock behind the order writer's and the outbox's transactions, and in a
    flood one monitor check's pass held the loop 175 ms (docs/performance.md). Until it is
    written, the next wake-up time is worked out from the table without those jobs' rows and from
    the remembered values, and every other use of the store (the next pass's `get_due_jobs`,
    lookups, adds) first waits for it, so none sees a row it has already changed. The jobs of
    the pass start only once it is committed (`StoreFirstExecutor`): a crash before leaves a job
    not yet run, which runs once after the restart.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._due: set[str] = set()  # ids the current pass found due: they exist until written here
        self._updates: list[dict[str, Any]] = []
        self._removals: list[str] = []
        self._unwritten: dict[str, float | None] = {}  # handed to the thread: id -> next run (None: removed)
        self._writing: Future[None] | None = None  # the last batch handed to the thread
        self._failed: list[tuple[list[dict[str, Any]], list[str]]] = []  # batches the thread could not write
        self._writer: ThreadPoolExecutor | None = None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        self.flush()
        jobs: list[Job] = super().get_due_jobs(now)
        self._due = {job.id for job in jobs}
        return jobs

    def update_job(self, job: Job) -> None:
        if job.id not in self._due:
            self.flush()
            super().update_job(job)
            return
        state = pickle.dumps(job.__getstate__(), self.pickle_protocol)  # as it is now, like the original
        self._updates.append(
            {"job": job.id, "next": datetime_to_utc_timestamp(job.next_run_time), "state": state}
        )

    def remove_job(self, job_id: str) -> None:
        if job_id not in self._due:
            self.flush()
            super().remove_job(job_id)
            return
        self._due.discard(job_id)
        self._removals.append(job_id)

    def get_next_run_time(self) -> datetime | None:
        self._due = set()
        self._write_behind()
        if self._writing is not None and self._writing.done() and not self._failed:
            self._writing, self._unwritten = None, {}
        if not self._unwritten:
            result: datetime | None = super().get_next_run_time()
            return result
        table = self.jobs_t
        stored = (
            select(table.c.next_run_time)
            .where(table.c.next_run_time.is_not(None), table.c.id.not_in(list(self._unwritten)))
            .order_by(table.c.next_run_time)
            .limit(1)
        )
        with self.engine.connect() as conn:  # a read: no write lock
            first = conn.execute(stored).scalar()
        times = [t for t in (first, *self._unwritten.values()) if t is not None]
        return utc_timestamp_to_datetime(min(times)) if times else None

    @property
    def writing(self) -> Future[None] | None:
        """The last batch of writes handed to the store's thread (done or not); None if none was."""
        return self._writing

    def _write_behind(self) -> None:
        """Hand the pass's remembered writes to the store's thread (one at a time, in order)."""
        if not self._updates and not self._removals:
            return
        updates, self._updates = self._updates, []
        removals, self._removals = self._removals, []
        self._unwritten.update({u["job"]: u["next"] for u in updates})
        self._unwritten.update(dict.fromkeys(removals))
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job-store")
        self._writing = self._writer.submit(self._write_in_thread, updates, removals)

    def _write_in_thread(self, updates: list[dict[str, Any]], removals: list[str]) -> None:
        try:
            self._write(updates, removals)
        except Exception:
            logger.opt(exception=True).warning("job store: a pass's writes failed; retried at its next use")
            self._failed.append((updates, removals))

    def flush(self) -> None:
        """Make every remembered write before the store is used again: wait for the thread's,
        retry any it could not make, then make this pass's in one transaction."""
        if self._writing is not None:
            self._writing.result()  # never an error: the thread keeps a failed batch in `_failed`
            self._writing = None
        while self._failed:  # nothing is in flight now: the thread appends only while writing
            self._write(*self._failed[0])  # if it fails again it stays, and APScheduler retries the pass
            self._failed.pop(0)
        self._unwritten = {}
        if not self._updates and not self._removals:
            return
        updates, self._updates = self._updates, []
        removals, self._removals = self._removals, []
        self._write(updates, removals)

    def _write(self, updates: list[dict[str, Any]], removals: list[str]) -> None:
        table = self.jobs_t
        with self.engine.begin() as conn:
            if updates:
                statement = (
                    table.update()
                    .where(table.c.id == bindparam("job"))
                    .values(next_run_time=bindparam("next"), job_state=bindparam("state"))
                )
                conn.execute(statement, updates)
            if removals:
                conn.execute(table.delete().where(table.c.id.in_(removals)))

    def lookup_job(self, job_id: str) -> Job | None:
        self.flush()
        return super().lookup_job(job_id)

    def get_all_jobs(self) -> list[Job]:
        self.flush()
        return super().get_all_jobs()

    def ids_starting(self, prefix: str) -> list[str]:
        """The ids of the stored jobs that start with `prefix`, read from their column alone.
        `get_all_jobs` unpickles every job: a campaign's reload listing its own jobs that way,
        with a hundred campaigns loaded, unpickled a thousand (docs/performance.md)."""
        self.flush()
        table = self.jobs_t
        query = select(table.c.id).where(table.c.id.startswith(prefix, autoescape=True)).order_by(table.c.id)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def add_job(self, job: Job) -> None:
        self.flush()
        super().add_job(job)

    def remove_all_jobs(self) -> None:
        self._updates, self._removals, self._due = [], [], set()
        self.flush()  # the thread's writes land before, not after, the table is emptied
        super().remove_all_jobs()

    def shutdown(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        super().shutdown()


class StoreFirstExecutor(AsyncIOExecutor):
    """Runs a job's coroutine once the store has committed the pass's writes about it.

    With the store's writes behind the loop, a job body (a daily summary, say) could otherwise
    finish and send before its new next run was committed, and a crash in between would run it
    again after the restart. Waiting here keeps the order the synchronous store had, written
    then run, without holding the loop.
    """

    def __init__(self, store: PassBatchedJobStore | None) -> None:
        super().__init__()
        self._store = store

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if self._store is None or not iscoroutinefunction_partial(job.func):
            super()._do_submit_job(job, run_times)
            return
        store, real_func = self._store, job.func

        async def written_first(*args: Any, **kwargs: Any) -> Any:
            writing = store.writing  # made at the end of the pass that submitted this job
            if writing is not None:
                await asyncio.wrap_future(writing)  # a failed write is kept for a retry, not raised
            return await real_func(*args, **kwargs)

        super()._do_submit_job(_RunAs(job, written_first), run_times)


class _RunAs:
    """`job` with another callable: what `run_coroutine_job` reads of it, nothing written back."""

    def __init__(self, job: Job, func: Callable[..., Any]) -> None:
        self._job, self.func = job, func

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


def create_job_table(engine: Engine) -> None:
    """Make the job store's table (APScheduler's own definition) if it is missing.

    The store makes it itself when it starts, but unlocked: several account processes starting
    at once on an empty PostgreSQL collided in its catalogue and the loser stopped. `bot.schema`
    calls this under the schema lock, with every other table, so the store finds it made.
    """
    PassBatchedJobStore(engine=engine, tablename=JOBS_TABLE).jobs_t.create(engine, checkfirst=True)


def build_scheduler(
    engine: Engine | None,
    settings: SchedulerSettings,
    *,
    timezone: str,
    jobstore: PassBatchedJobStore | MemoryJobStore | None = None,
) -> AsyncIOScheduler:
    """An AsyncIOScheduler whose jobs persist in the bot's own database (`engine`).

    Grace times are set per job by `Jobs`; the default below is only a fallback,
    deliberately far above APScheduler's 1 s (which silently drops jobs that start a few
    seconds late under load).
    """
    executor_log = logging.getLogger("apscheduler.executors.default")
    if _MISS_FILTER not in executor_log.filters:
        executor_log.addFilter(_MISS_FILTER)
    jobstore = jobstore if jobstore is not None else job_store(engine)
    return AsyncIOScheduler(
        jobstores={"default": jobstore},
        executors={
            "default": StoreFirstExecutor(jobstore if isinstance(jobstore, PassBatchedJobStore) else None)
        },
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.info_grace_seconds,
        },
        timezone=timezone,
    )


def job_store(engine: Engine | None) -> PassBatchedJobStore | MemoryJobStore:
    """The jobs' store: the bot's database, or memory for a scheduler without one."""
    return (
        PassBatchedJobStore(engine=engine, tablename=JOBS_TABLE) if engine is not None else MemoryJobStore()
    )


class Jobs:
    """The bot's scheduler, through typed methods: `at`, `every`, `daily`, `remove`, `job_ids`.

    Times given to `at` and `every` are bot times (`clock.now()`'s); daily jobs and
    `wall_clock=True` intervals run on the wall clock. Every job replaces one with the same id,
    coalesces missed runs into one and never runs twice at once.
    """

    def __init__(
        self,
        scheduler: BaseScheduler,
        clock: Clock,
        settings: SchedulerSettings,
        store: PassBatchedJobStore | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._store = store  # the scheduler's only store, when it is the database
        self.clock = clock
        self.settings = settings

    @classmethod
    def build(
        cls, engine: Engine | None, settings: SchedulerSettings, *, clock: Clock, timezone: str
    ) -> Jobs:
        store = job_store(engine)
        scheduler = build_scheduler(engine, settings, timezone=timezone, jobstore=store)
        return cls(scheduler, clock, settings, store if isinstance(store, PassBatchedJobStore) else None)

    # -- grace --------------------------------------------------------------------------
    def grace_seconds(self, grace: GraceSpec) -> float | None:
        """The grace in seconds of the job's own clock; None when unbounded."""
        if grace is Grace.CRITICAL:
            return self.settings.critical_grace_seconds
        if grace is Grace.INFO:
            return self.settings.info_grace_seconds
        if grace is Grace.UNBOUNDED:
            return None
        return float(grace)

    def _real_grace(self, grace: GraceSpec) -> int | None:
        seconds = self.grace_seconds(grace)
        if seconds is None:
            return None
        return max(MIN_REAL_GRACE_SECONDS, int(self.clock.real_seconds(seconds)))

    def _add(
        self, ref: str, trigger: Any, *, id: str, args: Sequence[Any], name: str | None, grace: int | None
    ) -> None:
        self._scheduler.add_job(
            ref,
            trigger=trigger,
            args=list(args),
            id=id,
            name=name or id,
            replace_existing=True,
            misfire_grace_time=grace,
            coalesce=True,
            max_instances=1,
        )

    # -- adding jobs ----------------------------------------------------------------------
    def at(
        self,
        ref: str,
        when: datetime,
        *,
        id: str,
        grace: GraceSpec,
        args: Sequence[Any] = (),
        name: str | None = None,
        paused: bool = False,
    ) -> None:
        """Run `ref(*args)` once at bot time `when`."""
        self._add(
            ref,
            DateTrigger(run_date=self.clock.to_real(when)),
            id=id,
            args=args,
            name=name,
            grace=self._real_grace(grace),
        )
        if paused:
            self._scheduler.pause_job(id)

    def every(
        self,
        ref: str,
        *,
        seconds: float,
        id: str,
        grace: GraceSpec,
        args: Sequence[Any] = (),
        name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        wall_clock: bool = False,
    ) -> None:
        """Run `ref(*args)` every `seconds`, between bot times `start` and `end` when given.

        With `wall_clock=True` the period and grace are real seconds (a process health check),
        whatever the bot's clock does.
        """
        if wall_clock:
            trigger = IntervalTrigger(seconds=seconds, start_date=start, end_date=end)
            real_grace = None if (g := self.grace_seconds(grace)) is None else int(g)
        else:
            trigger = IntervalTrigger(
                seconds=max(1.0, self.clock.real_seconds(seconds)),
                start_date=None if start is None else self.clock.to_real(start),
                end_date=None if end is None else self.clock.to_real(end),
            )
            real_grace = self._real_grace(grace)
        self._add(ref, trigger, id=id, args=args, name=name, grace=real_grace)

    def daily(
        self, ref: str, at: str, *, id: str, grace: GraceSpec, timezone: str, args: Sequence[Any] = ()
    ) -> None:
        """Run `ref(*args)` every day at wall-clock "HH:MM" in `timezone`; grace in real seconds."""
        hour, minute = at.split(":")
        seconds = self.grace_seconds(grace)
        self._add(
            ref,
            CronTrigger(hour=int(hour), minute=int(minute), timezone=timezone),
            id=id,
            args=args,
            name=None,
            grace=None if seconds is None else int(seconds),
        )

    # -- looking and removing -----------------------------------------------------------
    def remove(self, id: str) -> bool:
        """Remove a job; False if there was none."""
        try:
            self._scheduler.remove_job(id)
        except JobLookupError:
            return False
        return True

    def job_ids(self, prefix: str = "") -> list[str]:
        """Ids of the scheduled jobs starting with `prefix` (from the job table's id column when the
        store is the database; before the scheduler starts, its pending jobs)."""
        store = self._store
        if store is not None and self._scheduler.state != STATE_STOPPED:
            return store.ids_starting(prefix)
        return [job.id for job in self._scheduler.get_jobs() if job.id.startswith(prefix)]

    def pause(self, id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.pause_job(id)

    def get_job(self, id: str) -> Job | None:
        """The scheduler's own record of a job (tests and benches inspect its trigger and grace)."""
        return self._scheduler.get_job(id)

    def get_jobs(self) -> list[Job]:
        return list(self._scheduler.get_jobs())

    def waiting(self) -> list[Waiting]:
        """Jobs with a next run time, for releasing them on a virtual clock."""
        return [_view(job) for job in self._scheduler.get_jobs() if job.next_run_time is not None]

    def view(self, id: str) -> Waiting | None:
        """One job as `waiting()` shows it (its next run may be None: paused); None if gone."""
        job = self._scheduler.get_job(id)
        return None if job is None else _view(job)

    def run_at_real(self, id: str, when: datetime) -> bool:
        """Move a job's next run to real time `when`; False if the job is gone."""
        job = self._scheduler.get_job(id)
        if job is None:
            return False
        job.modify(next_run_time=when)
        return True

    def wakeup(self) -> None:
        self._scheduler.wakeup()

    # -- events -------------------------------------------------------------------------
    def on_missed(self, callback: Callable[[JobEventLike], None]) -> Callable[[], None]:
        """Call `callback` for each job dropped past its grace; returns a function that stops it."""
        return self._listen(callback, EVENT_JOB_MISSED)

    def on_finished(self, callback: Callable[[JobEventLike], None]) -> Callable[[], None]:
        """Call `callback` when a job run ends (returned, raised or was missed)."""
        return self._listen(callback, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def on_submitted(
        self, started: Callable[[JobEventLike], None], refused: Callable[[JobEventLike], None]
    ) -> Callable[[], None]:
        """`started` when a run is handed to the executor, `refused` when one was already running."""

        def route(event: Any) -> None:
            (started if event.code == EVENT_JOB_SUBMITTED else refused)(event)

        return self._listen(route, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)

    def _listen(self, callback: Callable[[Any], None], mask: int) -> Callable[[], None]:
        self._scheduler.add_listener(callback, mask)
        return lambda: self._scheduler.remove_listener(callback)

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self, paused: bool = False) -> None:
        """Start; `paused`: jobs added go to the store but none runs until `resume` (a standby
        account process: several accounts share one store and only the elected one runs it)."""
        self._scheduler.start(paused=paused)

    def resume(self) -> None:
        self._scheduler.resume()

    def shutdown(self, wait: bool = False) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
