"""When a red-packet burst may take grabs, and work deferred until its transaction commits.

A burst is announced by a post that leaves through the paced outbox, seconds after the
burst starts (longer when the group's queue is busy). A grab counts in a group only
once that announcement has been sent there: no one should win a packet in a group that
has not yet been told there is a rain (issue 13.13). The announcement carries a replace
key naming the burst, so its outbox row says whether it has left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from loguru import logger

from bot.context import Services
from handlers.redpacket.memory import memory_of
from handlers.redpacket.service import Burst


def announce_key(burst_id: str) -> str:
    """The outbox replace key of a burst's announcement, by which a grab finds whether it has left."""
    return f"rp-announce:{burst_id}"


def announced(services: Services, burst: Burst) -> bool:
    """Whether the group has been sent the burst's announcement (asked of the outbox until it has).

    Only a grab keyword during a burst gets here, and once the announcement has left the
    answer is kept in memory, so this is a query per early grab, not per message. A burst
    with no announcement row (none was queued) takes grabs at once.
    """
    known = memory_of(services).announced
    if burst.id in known:
        return True
    if services.outbox.holds(burst.group_id, announce_key(burst.id)):  # memory: the table lags
        return False
    known[burst.id] = True
    return True


def after_commit(func: Callable[..., None], *args: object) -> None:
    """Run `func` once the caller's transaction has committed (at the event loop's next turn).

    The scheduler's job store may live in the same SQLite database: adding a burst's close
    job while the burst's transaction holds the write lock waits on that lock until
    "database is locked". Callers run their transaction without an await, so the loop's
    next turn comes after the commit. Were the transaction rolled back, the job finds no
    burst and does nothing.
    """

    def run() -> None:
        try:
            func(*args)
        except Exception:
            logger.opt(exception=True).error("red packets: {} after commit failed", func.__name__)

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        run()
        return
    loop.call_soon(run)
