"""Which burst a grab keyword is for, and the grab itself, with the database off the event loop.

Chatter is told from a grab by the group's recent burst keywords, kept in memory
(`RedPacketMemory.keywords`): a message that is no keyword costs no query. A group's
keywords are read once, in a worker thread; a read that overlaps a burst's start is
not kept (`keyword_generation`), and `start_burst` drops the group's keywords both
when the burst is stored and again once its transaction has committed, so a read
racing the commit cannot hide the new keyword. A keyword's bursts and the grab (an
atomic claim in storage) run in a worker thread too, one at a time, in arrival order.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.context import Services
from bot.text import core
from handlers.redpacket.memory import memory_of
from handlers.redpacket.service import Burst, GrabResult, RedPacketStore

RECENT_BURSTS = 5
LATE_GRACE = timedelta(minutes=10)
"""How long after a burst ends its keyword still gets a "too late" instead of silence."""


def pick_burst(bursts: list[Burst], said: str, now: datetime) -> Burst | None:
    """The newest of `bursts` whose keyword this is, if open or only recently ended."""
    for burst in bursts:
        if core(burst.keyword) != said:
            continue
        ended = burst.closed_at or burst.closes_at
        if burst.status == "open" or ended + LATE_GRACE > now:
            return burst
    return None


async def keywords_of(services: Services, group_id: str) -> frozenset[str]:
    """The group's recent burst keywords (read once per group, in a worker thread).

    Messages that arrive while the group's read is under way wait for that same read, in
    arrival order, so a group's messages reach the later handlers (orders) in the order sent.
    """
    memory = memory_of(services)
    keywords = memory.keywords.get(group_id)
    if keywords is not None:
        return keywords
    reads = memory.keyword_reads
    reading = reads.get(group_id)
    if reading is None:
        reading = reads[group_id] = asyncio.ensure_future(_read_keywords(services, group_id))
        reading.add_done_callback(lambda _: reads.pop(group_id, None))
    return await asyncio.shield(reading)


async def _read_keywords(services: Services, group_id: str) -> frozenset[str]:
    memory = memory_of(services)
    generation = memory.keyword_generation
    store = RedPacketStore(services.repo.engine)
    bursts = await asyncio.to_thread(store.recent, group_id, RECENT_BURSTS)
    keywords = frozenset(core(b.keyword) for b in bursts)
    if memory.keyword_generation == generation:  # no burst started meanwhile
        memory.keywords[group_id] = keywords
    return keywords


async def burst_for_grab(services: Services, group_id: str, said: str, now: datetime) -> Burst | None:
    """The burst a message is a grab for, or None; chatter (no keyword) is answered from memory."""
    if said not in await keywords_of(services, group_id):
        return None
    store = RedPacketStore(services.repo.engine)
    return pick_burst(await asyncio.to_thread(store.recent, group_id, RECENT_BURSTS), said, now)


async def grab(services: Services, burst: Burst, member_id: str, name: str, now: datetime) -> GrabResult:
    """Take a packet in a worker thread; grabs go one at a time, in the order they arrived."""
    store = RedPacketStore(services.repo.engine)
    async with memory_of(services).claims:
        return await asyncio.to_thread(store.grab, burst, member_id, name, now)
