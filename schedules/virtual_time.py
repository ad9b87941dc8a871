"""Running the real scheduler's jobs on a `VirtualClock` (rehearsals).

The scheduler stays the real APScheduler with its persistent job store; only
*when* a job runs changes. Jobs added through `clock.to_real` sit ten years
ahead of the wall clock, so none fires by itself. `JobRelease` moves each one to
"now" when bot time reaches it, counts jobs in flight so the rehearsal knows
when the bot has finished reacting, and re-arms interval jobs on bot time
(APScheduler would compute their next run on the wall clock).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import VirtualClock


class JobRelease:
    """Releases scheduler jobs at their bot time and reports whether any is still running."""

    def __init__(self, scheduler: BaseScheduler, clock: VirtualClock) -> None:
        self.scheduler = scheduler
        self.clock = clock
        self._released: set[str] = set()  # moved to "now", not yet picked up by the scheduler
        self._ticks: dict[str, datetime] = {}  # interval job id -> bot time of the tick now running
        self._running: Counter[str] = Counter()
        scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)
        scheduler.add_listener(self._on_finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    @property
    def idle(self) -> bool:
        # A released job removed before the scheduler picked it up (a campaign reloaded) never runs.
        self._released = {job_id for job_id in self._released if self.scheduler.get_job(job_id) is not None}
        return not self._released and not self._running

    def describe_busy(self) -> str:
        """What the rehearsal is still waiting for, for a stuck-rehearsal message."""
        return ", ".join(sorted({*self._released, *self._running})) or "no job"

    def _waiting(self) -> list[tuple[datetime, Job]]:
        """Jobs on bot time, with the bot time each is due, soonest first."""
        jobs = [
            (self.clock.from_real(job.next_run_time), job)
            for job in self.scheduler.get_jobs()
            if job.next_run_time is not None
            and job.id not in self._released
            and self.clock.is_bot_time(job.next_run_time)
        ]
        return sorted(jobs, key=lambda pair: pair[0])

    def next_due(self) -> tuple[datetime | None, datetime | None]:
        """When the next job is due, and the next one that is not an interval job (a monitor tick)."""
        waiting = self._waiting()
        return (
            waiting[0][0] if waiting else None,
            next((due for due, job in waiting if not isinstance(job.trigger, IntervalTrigger)), None),
        )

    def release_due(self) -> int:
        """Hand every job due by now to the scheduler; returns how many."""
        released = 0
        for due, job in self._waiting():
            if due > self.clock.now():
                break
            self._released.add(job.id)
            if isinstance(job.trigger, IntervalTrigger):
                self._ticks[job.id] = due
            job.modify(next_run_time=datetime.now(UTC))
            released += 1
        if released:
            self.scheduler.wakeup()
        return released

    def _on_submitted(self, event: JobEvent) -> None:
        self._released.discard(event.job_id)
        if event.code == EVENT_JOB_SUBMITTED:
            self._running[event.job_id] += 1
        else:
            self._rearm(event.job_id)

    def _on_finished(self, event: JobEvent) -> None:
        if self._running[event.job_id] > 1:
            self._running[event.job_id] -= 1
        else:
            self._running.pop(event.job_id, None)
        self._rearm(event.job_id)

    def _rearm(self, job_id: str) -> None:
        """Put an interval job's next tick back on bot time."""
        due = self._ticks.pop(job_id, None)
        job = None if due is None else self.scheduler.get_job(job_id)
        if due is None or job is None or not isinstance(job.trigger, IntervalTrigger):
            return
        next_real = self.clock.to_real(due + job.trigger.interval)
        if job.trigger.end_date is not None and next_real > job.trigger.end_date:
            self.scheduler.remove_job(job_id)
        else:
            job.modify(next_run_time=next_real)
