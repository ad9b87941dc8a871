"""When the outbox's send loop fails: back off, tell the admins once, say when it is over.

The loop must outlive any exception (a locked or full database, a bug in its own
pacing code): a dead sender leaves the bot up but silent, which is worse than a
crash. Admins hear about an episode once, not once per retry; the callbacks that
tell them queue into the outbox themselves and may fail while the database is
still unavailable, so a notice that could not be queued is retried at recovery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from loguru import logger

from bot.storage.errors import classify, describe

BACKOFF_START_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0

TroubleCallback = Callable[[str, str], None]
RecoveredCallback = Callable[[], None]


def call_safely(name: str, callback: Callable[..., None] | None, *args: object) -> bool:
    """Run an alert callback; False (logged) if it raised, so the send loop never dies of it."""
    if callback is None:
        return True
    try:
        callback(*args)
    except Exception:
        logger.opt(exception=True).warning("outbox: {} callback failed; will retry at recovery", name)
        return False
    return True


class Trouble:
    """One trouble episode of the send loop: from its first failure to its next clean pass."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.since: datetime | None = None
        self.failures = 0
        self.kind = ""
        self.detail = ""
        self.notified = False

    @property
    def active(self) -> bool:
        return self.since is not None

    def failed(self, exc: Exception, now: datetime, on_trouble: TroubleCallback | None) -> float:
        """Record a failed pass; returns how long (bot seconds) to back off before the next."""
        self.failures += 1
        if self.since is None:
            self.since = now
            self.kind, self.detail = classify(exc), describe(exc)
            logger.opt(exception=exc).error(
                "outbox: send loop failed ({}); backing off and retrying", self.detail
            )
            self.notified = call_safely("on_trouble", on_trouble, self.kind, self.detail)
        else:
            logger.warning("outbox: still failing (attempt {}): {}", self.failures, describe(exc))
        return min(BACKOFF_CAP_SECONDS, BACKOFF_START_SECONDS * 2 ** (self.failures - 1))

    def passed(
        self, now: datetime, on_trouble: TroubleCallback | None, on_recovered: RecoveredCallback | None
    ) -> None:
        """A pass went through: end the episode, telling the admins (late, if need be)."""
        if self.since is None:
            return
        seconds = (now - self.since).total_seconds()
        logger.warning("outbox: send loop recovered after {:.0f}s and {} failure(s)", seconds, self.failures)
        if not self.notified:
            call_safely("on_trouble", on_trouble, self.kind, self.detail)
        call_safely("on_recovered", on_recovered)
        self._reset()
