"""What the red-packet feature remembers in this process, found by type and bounded.

`bursts` (the keywords of every group's live bursts) is complete from `App.build` on: the
feature's setup loads it in one query and every start and close in this process updates
it (`handlers.redpacket.keywords`), so chatter is told from a grab without a query. The
rest only spares a query (an announcement known to have left) or a repeated "already
grabbed" reply; a restart forgets it safely.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from cachetools import LRUCache

from bot.context import Services
from handlers.redpacket.keywords import BurstKeywords

GROUPS_REMEMBERED = 20_000
REPLIES_REMEMBERED = 50_000


@dataclass
class RedPacketMemory:
    rng: random.Random | None = None  # a seeded one makes rehearsals and tests repeatable
    bursts: BurstKeywords = field(default_factory=BurstKeywords)
    already_told: LRUCache[tuple[str, str], bool] = field(
        default_factory=lambda: LRUCache(REPLIES_REMEMBERED)
    )
    announced: LRUCache[str, bool] = field(default_factory=lambda: LRUCache(GROUPS_REMEMBERED))
    claims: asyncio.Lock = field(default_factory=asyncio.Lock)  # grabs reach the database in arrival order


def memory_of(services: Services) -> RedPacketMemory:
    return services.get_or_make(RedPacketMemory, RedPacketMemory)


def seed_splits(services: Services, rng: random.Random) -> None:
    """Draw red-packet splits from `rng` (rehearsals and tests want the same amounts each run)."""
    memory_of(services).rng = rng
