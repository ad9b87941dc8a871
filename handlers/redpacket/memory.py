"""What the red-packet feature remembers in this process, found by type and bounded.

A restart forgets it safely: each entry only spares a query (the grab keywords of a group, an
announcement known to have left) or a repeated "already grabbed" reply. A group's keywords
are read once (in a worker thread) and dropped when a burst starts there, so chatter that
is no keyword costs no query.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from cachetools import LRUCache

from bot.context import Services

GROUPS_REMEMBERED = 20_000
REPLIES_REMEMBERED = 50_000


@dataclass
class RedPacketMemory:
    rng: random.Random | None = None  # a seeded one makes rehearsals and tests repeatable
    keywords: LRUCache[str, frozenset[str]] = field(default_factory=lambda: LRUCache(GROUPS_REMEMBERED))
    already_told: LRUCache[tuple[str, str], bool] = field(
        default_factory=lambda: LRUCache(REPLIES_REMEMBERED)
    )
    announced: LRUCache[str, bool] = field(default_factory=lambda: LRUCache(GROUPS_REMEMBERED))
    keyword_generation: int = 0  # bumped when a burst starts: a keyword read under way is not kept
    # A group's keyword read in flight, shared by the messages that arrive meanwhile (removed when done).
    keyword_reads: dict[str, asyncio.Future[frozenset[str]]] = field(default_factory=dict)
    claims: asyncio.Lock = field(default_factory=asyncio.Lock)  # grabs reach the database in arrival order

    def forget_keywords(self, group_id: str) -> None:
        """A burst started in the group: its keywords are read again (and a read under way is dropped)."""
        self.keyword_generation += 1
        self.keywords.pop(group_id, None)


def memory_of(services: Services) -> RedPacketMemory:
    return services.get_or_make(RedPacketMemory, RedPacketMemory)


def seed_splits(services: Services, rng: random.Random) -> None:
    """Draw red-packet splits from `rng` (rehearsals and tests want the same amounts each run)."""
    memory_of(services).rng = rng
