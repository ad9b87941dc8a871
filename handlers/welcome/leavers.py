"""Who may have rejoined a group unreported, known from memory instead of a query per message.

A member earns a first-message welcome only if the bot saw them leave and no join or
welcome came since (`WelcomeStore.rejoined_unreported`). Asking the database on every
member's first message cost 5 ms of a 6.4 ms message in a flash sale. Here each group's
*candidates* (members whose last membership event is a leave and who were never
welcomed) are read once per group, off the event loop, and kept current from the events
this process sees: `MemberLeft` adds, a join, a welcome or a check removes. Only a
candidate's message costs a query, which confirms it.

Correctness: the set may hold too many members (a candidate is confirmed by the
database), never too few. A rejoin can only become true through a leave, which is written
before it is dispatched (a barrier of the inbound path) and added here; a group not in
memory is read again, never guessed. Events arriving while a group is being read are
replayed on the result.

Bound: at most `BUDGET` member ids over all groups in memory (a size-weighted LRU of
groups: about 100 bytes an id, so about 10 MB), and a group with more than `PER_GROUP`
candidates is not listed at all but marked "ask the database" (every member's first
message is then looked up once, as before). An evicted group is read again on its next
message. A restart forgets everything and reads again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cachetools import LRUCache

from bot.context import Services

BUDGET = 100_000
"""Member ids held over all groups."""

PER_GROUP = 2_000
"""Candidates a group may have before it is only "ask the database" (a WeChat group holds 500)."""


class _AskDatabase:
    """A group with too many candidates to list: every member's first message is looked up."""


ASK = _AskDatabase()
Candidates = set[str] | _AskDatabase
Reader = Callable[[str, int], list[str]]


def _weight(candidates: Candidates) -> int:
    return len(candidates) + 1 if isinstance(candidates, set) else 1


class Leavers:
    """Each group's rejoin candidates, read once per group (in a worker thread) and kept current."""

    def __init__(self, read: Reader, *, budget: int = BUDGET, per_group: int = PER_GROUP) -> None:
        self.read = read  # (group_id, limit) -> member ids, at most `limit`; runs in a worker thread
        self.per_group = per_group
        self.groups: LRUCache[str, Candidates] = LRUCache(maxsize=budget, getsizeof=_weight)
        self.reads = 0  # how many groups were read (tests and benchmarks look)
        self._loading: dict[str, asyncio.Future[list[str]]] = {}
        self._replay: dict[str, list[tuple[bool, str]]] = {}

    def candidate(self, group_id: str, member_id: str) -> bool | None:
        """Whether the member's message must be checked in the database; None if the group is not read."""
        candidates = self.groups.get(group_id)
        if candidates is None:
            return None
        return member_id in candidates if isinstance(candidates, set) else True

    async def ensure(self, group_id: str) -> None:
        """Read the group's candidates unless they are in memory (off the loop; one read at a time)."""
        if group_id in self.groups:
            return
        pending = self._loading.get(group_id)
        if pending is not None:
            await asyncio.shield(pending)
            return
        self._replay[group_id] = []
        future = self._loading[group_id] = asyncio.ensure_future(
            asyncio.to_thread(self.read, group_id, self.per_group + 1)
        )
        try:
            found = await asyncio.shield(future)
        finally:
            del self._loading[group_id]
            replay = self._replay.pop(group_id)
        self.reads += 1
        candidates: Candidates = set(found) if len(found) <= self.per_group else ASK
        self._store(group_id, candidates)
        for leaving, member_id in replay:
            self._apply(group_id, leaving, member_id)

    def left(self, group_id: str, member_id: str) -> None:
        """The member left: a candidate until they join again or are welcomed."""
        self._apply(group_id, True, member_id)

    def settled(self, group_id: str, member_id: str) -> None:
        """The member joined, was welcomed, or was checked: not a candidate until they leave again."""
        self._apply(group_id, False, member_id)

    def _apply(self, group_id: str, leaving: bool, member_id: str) -> None:
        replay = self._replay.get(group_id)
        if replay is not None:
            replay.append((leaving, member_id))  # the read under way may predate this event
            return
        candidates = self.groups.get(group_id)
        if not isinstance(candidates, set):
            return  # not in memory (the next read sees the database) or "ask the database"
        if leaving:
            candidates.add(member_id)
            self._store(group_id, candidates if len(candidates) <= self.per_group else ASK)
        elif member_id in candidates:
            candidates.discard(member_id)
            self._store(group_id, candidates)

    def _store(self, group_id: str, candidates: Candidates) -> None:
        self.groups[group_id] = candidates  # re-weighed: may evict the least recently used groups


def leavers_of(services: Services, read: Reader) -> Leavers:
    """The app's rejoin candidates (made on first use)."""
    return services.get_or_make(Leavers, lambda: Leavers(read))
