"""Retrying timeline work through a transient database failure, on the bot's clock.

Another process holding the SQLite database (a backup, a `sqlite3` shell, a second bot) makes
every write fail with "database is locked" once the busy timeout runs out. A timeline node that
hits this must not be forgotten (issue 12): it is retried with backoff until its grace runs out,
and then recorded as skipped, which is retried too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from loguru import logger
from sqlalchemy.exc import OperationalError

from bot.campaign.timeline_rules import readable_duration
from bot.clock import Clock

T = TypeVar("T")

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0


class GaveUp(Exception):
    """The database stayed unavailable until the deadline; the message says why."""


def short_reason(exc: BaseException) -> str:
    """The driver's own words ("database is locked"), without SQLAlchemy's statement dump."""
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).splitlines()[0][:200]


async def retry_transient(call: Callable[[], T], *, clock: Clock, until: datetime | None, what: str) -> T:
    """Run `call`; on an operational database error wait (1 s, 2 s, 4 s … at most 60 s) and retry.

    Gives up with `GaveUp` once bot time reaches `until` (never when `until` is None). Other
    exceptions are not transient and propagate at once.
    """

    async def once() -> T:
        return call()

    return await retry_transient_async(once, clock=clock, until=until, what=what)


async def retry_transient_async(
    call: Callable[[], Awaitable[T]], *, clock: Clock, until: datetime | None, what: str
) -> T:
    """`retry_transient` for work that awaits (a timeline chunk yields while the write lock is taken)."""
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        try:
            return await call()
        except OperationalError as exc:
            reason = short_reason(exc)
            now = clock.now()
            remaining = None if until is None else (until - now).total_seconds()
            if remaining is not None and remaining <= 0:
                raise GaveUp(reason) from exc
            wait = backoff if remaining is None else min(backoff, remaining)
            logger.warning("{} failed ({}); retrying in {}", what, reason, readable_duration(wait))
            await clock.sleep(wait)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
