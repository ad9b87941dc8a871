"""Which burst a grab keyword is for, and the grab itself, with the database off the event loop.

Chatter is told from a grab by `match_grab`, the handler's matcher: it asks the memory of
every group's live burst keywords (`handlers.redpacket.keywords`), complete from start-up
on, so a message that is no keyword runs no handler body, no query and no thread hop. A
keyword's bursts are then read from storage (the exact rule, `pick_burst`) and the grab (an
atomic claim in storage) made, in a worker thread, one grab at a time, in arrival order.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.context import Services
from bot.events import GroupMessage
from bot.text import core
from bot.view import MessageView
from handlers.redpacket.keywords import LATE_GRACE, LiveBurst, still_answers
from handlers.redpacket.memory import RedPacketMemory, memory_of
from handlers.redpacket.service import Burst, GrabResult, RedPacketStore

RECENT_BURSTS = 5
MAX_GRAB_LEN = 30
"""A longer message is never a grab (it is chat that happens to contain the keyword)."""


def pick_burst(bursts: list[Burst], said: str, now: datetime) -> Burst | None:
    """The newest of `bursts` whose keyword this is, if open or only recently ended."""
    for burst in bursts:
        if core(burst.keyword) == said and still_answers(burst.status, burst.closes_at, burst.closed_at, now):
            return burst
    return None


def live_of(burst: Burst) -> LiveBurst:
    return LiveBurst.of(
        id=burst.id,
        group_id=burst.group_id,
        keyword=burst.keyword,
        opened_at=burst.opened_at,
        closes_at=burst.closes_at,
        status=burst.status,
        closed_at=burst.closed_at,
    )


def load_live(services: Services) -> None:
    """Every group's live burst keywords, in one query (the feature's setup, in `App.build`)."""
    now = services.clock.now()
    bursts = RedPacketStore(services.repo.engine).live(now - LATE_GRACE)
    memory_of(services).bursts.load((live_of(b) for b in bursts), now)


def match_grab(msg: GroupMessage, view: MessageView) -> LiveBurst | None:
    """The grab matcher: the live burst whose keyword the message is, else None (from memory only)."""
    memory = view.services.find(RedPacketMemory) or memory_of(view.services)
    keywords = memory.bursts.groups.get(view.group_id)
    if not keywords or len(view.text) > MAX_GRAB_LEN:
        return None
    bursts = keywords.get(view.core)
    if not bursts:
        return None
    now = view.services.clock.now()
    return next((b for b in bursts if b.answers(now)), None)


def burst_for(services: Services, group_id: str, said: str, now: datetime) -> Burst | None:
    """The stored burst `said` is the keyword of (the exact rule), read on the caller's thread.

    Memory answers first, so a keyword no live burst has costs no query.
    """
    if memory_of(services).bursts.match(group_id, said, now) is None:
        return None
    return pick_burst(RedPacketStore(services.repo.engine).recent(group_id, RECENT_BURSTS), said, now)


async def burst_for_grab(services: Services, group_id: str, said: str, now: datetime) -> Burst | None:
    """`burst_for` with the read in a worker thread (a matched grab; chatter never gets here)."""
    return await asyncio.to_thread(burst_for, services, group_id, said, now)


async def grab(services: Services, burst: Burst, member_id: str, name: str, now: datetime) -> GrabResult:
    """Take a packet in a worker thread; grabs go one at a time, in the order they arrived."""
    store = RedPacketStore(services.repo.engine)
    async with memory_of(services).claims:
        result = await asyncio.to_thread(store.grab, burst, member_id, name, now)
    if result.closed_now:
        memory_of(services).bursts.closed(burst.id, now)
    return result
