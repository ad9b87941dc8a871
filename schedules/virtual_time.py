"""Running the real scheduler's jobs on a `VirtualClock` (rehearsals).

The scheduler stays the real APScheduler with its persistent job store; only
*when* a job runs changes. Jobs added through `clock.to_real` sit ten years
ahead of the wall clock, so none fires by itself. `JobRelease` moves each one to
"now" when bot time reaches it, counts jobs in flight so the rehearsal knows
when the bot has finished reacting, and re-arms interval jobs on bot time
(APScheduler would compute their next run on the wall clock). It works through
the jobs facade (`schedules.jobs.Jobs`), the only code that knows APScheduler.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bot.clock import VirtualClock
from bot.config import SchedulerSettings
from schedules.jobs import JobEventLike, Jobs, Waiting


class JobRelease:
    """Releases scheduler jobs at their bot time and reports whether any is still running."""

    def __init__(self, scheduler: Jobs | Any, clock: VirtualClock) -> None:
        # A bare APScheduler scheduler (a test's `build_scheduler(...)`) is wrapped in the facade.
        self.jobs = scheduler if isinstance(scheduler, Jobs) else Jobs(scheduler, clock, SchedulerSettings())
        self.clock = clock
        self._released: set[str] = set()  # moved to "now", not yet picked up by the scheduler
        self._ticks: dict[str, datetime] = {}  # interval job id -> bot time of the tick now running
        self._running: Counter[str] = Counter()
        self.jobs.on_submitted(self._on_started, self._on_refused)
        self.jobs.on_finished(self._on_finished)

    @property
    def idle(self) -> bool:
        # A released job removed before the scheduler picked it up (a campaign reloaded) never runs.
        # Only the released ones are looked up: listing every job unpickles the whole job store,
        # and this is asked several times per instant of bot time.
        if self._released:
            self._released = {job_id for job_id in self._released if self.jobs.view(job_id) is not None}
        return not self._released and not self._running

    def describe_busy(self) -> str:
        """What the rehearsal is still waiting for, for a stuck-rehearsal message."""
        return ", ".join(sorted({*self._released, *self._running})) or "no job"

    def _waiting(self) -> list[tuple[datetime, Waiting]]:
        """Jobs on bot time, with the bot time each is due, soonest first."""
        jobs = [
            (self.clock.from_real(job.next_run_time), job)
            for job in self.jobs.waiting()
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
            next((due for due, job in waiting if job.interval is None), None),
        )

    def release_due(self) -> int:
        """Hand every job due by now to the scheduler; returns how many."""
        released = 0
        for due, job in self._waiting():
            if due > self.clock.now():
                break
            self._released.add(job.id)
            if job.interval is not None:
                self._ticks[job.id] = due
            self.jobs.run_at_real(job.id, datetime.now(UTC))
            released += 1
        if released:
            self.jobs.wakeup()
        return released

    def _on_started(self, event: JobEventLike) -> None:
        self._released.discard(event.job_id)
        self._running[event.job_id] += 1

    def _on_refused(self, event: JobEventLike) -> None:
        self._released.discard(event.job_id)
        self._rearm(event.job_id)

    def _on_finished(self, event: JobEventLike) -> None:
        if self._running[event.job_id] > 1:
            self._running[event.job_id] -= 1
        else:
            self._running.pop(event.job_id, None)
        self._rearm(event.job_id)

    def _rearm(self, job_id: str) -> None:
        """Put an interval job's next tick back on bot time."""
        due = self._ticks.pop(job_id, None)
        if due is None:
            return
        job = self.jobs.view(job_id)
        if job is None or job.interval is None:
            return
        next_real = self.clock.to_real(due + job.interval)
        if job.end_date is not None and next_real > job.end_date:
            self.jobs.remove(job_id)
        else:
            self.jobs.run_at_real(job_id, next_real)
