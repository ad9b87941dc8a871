"""Who may have rejoined a group unreported: every group's candidates, in memory from the start.

A member earns a first-message welcome only if the bot saw them leave and no join or
welcome came since (`WelcomeStore.rejoined_unreported`). The welcome's matcher
(`handlers.welcome.rejoin.match_rejoin`) asks this memory about every group message, on
the event loop, so the answer must come from memory and be right without a query. The
feature's setup therefore reads every group's *candidates* (members whose last membership
event is a leave and who were never welcomed) in ONE query when the app is built (`load`),
and the events this process handles keep them current: `MemberLeft` adds, a join, a
welcome or a check removes. A candidate's message costs one query, which confirms it.

Correctness: the memory may hold too many members (the database confirms a candidate),
never too few. A member becomes a candidate in the database only through a leave row; a
leave written before this process started is in the bulk read, and a leave this process
sees is written before it is dispatched (a barrier of the inbound path) and then added here
by `handle_left`. So a group with nothing listed has no candidate, and a member's chatter
runs no welcome body and no statement.

Bounds, and what they cost: `per_group` — the bulk read fetches at most `per_group + 1`
rows a group (a window function), and a group with more than `per_group` candidates (from
the read or from later leaves) is not listed but marked "ask the database" (`ASK`): every
member's first message there runs the check once (`_checked` in `handlers.welcome.chat`),
which is correct but costs a query a member, as before. `budget` bounds the member ids held
over all groups (about 100 bytes an id, so about 10 MB): a group whose listing would pass
it is marked `ASK` too. A complete memory never forgets a group (an evicted one would be a
wrong "no"). A restart reads everything again.

A memory made without `load` (`Leavers(read)`: the welcome module used without its
feature's setup, or a test's hand-made one) is incomplete and works as before the bulk
read: a group unknown to it is read on that group's first message, in a worker thread, and
groups are kept in an LRU weighed by size within `budget`. The shipped app never makes one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, MutableMapping

from cachetools import LRUCache
from loguru import logger

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
    """Each group's rejoin candidates: complete after `load` (the app's), else read per group (lazy)."""

    def __init__(
        self, read: Reader | None = None, *, budget: int = BUDGET, per_group: int = PER_GROUP
    ) -> None:
        self.read = read  # lazy only: (group_id, limit) -> member ids, at most `limit`; in a worker thread
        self.budget = budget
        self.per_group = per_group
        self.complete = False  # True after `load`: a group not listed has no candidate
        self.groups: MutableMapping[str, Candidates] = LRUCache(maxsize=budget, getsizeof=_weight)
        self.held = 0  # member ids listed (complete memory only; the LRU weighs its own)
        self.reads = 0  # database reads: the bulk read, or one per group read lazily (tests look)
        self._loading: dict[str, asyncio.Future[list[str]]] = {}
        self._replay: dict[str, list[tuple[bool, str]]] = {}

    def load(self, rows: Iterable[tuple[str, str]]) -> None:
        """Take every group's candidates from one bulk read, `(group_id, member_id)` rows with at
        most `per_group + 1` a group. From now on the memory is complete and never reads again."""
        found: dict[str, set[str]] = {}
        for group_id, member_id in rows:
            found.setdefault(group_id, set()).add(member_id)
        self.groups, self.held, self.complete = {}, 0, True
        self.reads += 1
        for group_id, members in found.items():
            if len(members) > self.per_group or self.held + len(members) > self.budget:
                self._ask(group_id, set())
            else:
                self.groups[group_id] = members
                self.held += len(members)
        logger.info("welcome: {} rejoin candidates in {} groups", self.held, len(self.groups))

    def candidate(self, group_id: str, member_id: str) -> bool | None:
        """Whether the member's message must be checked in the database; None only when an
        incomplete memory has not read the group."""
        candidates = self.groups.get(group_id)
        if candidates is None:
            return False if self.complete else None
        return member_id in candidates if isinstance(candidates, set) else True

    async def ensure(self, group_id: str) -> None:
        """Lazy memory only: read the group's candidates unless known (off the loop; one read at a time)."""
        if self.complete or group_id in self.groups:
            return
        pending = self._loading.get(group_id)
        if pending is not None:
            await asyncio.shield(pending)
            return
        if self.read is None:
            raise RuntimeError("an incomplete Leavers needs a reader")
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
        self.groups[group_id] = set(found) if len(found) <= self.per_group else ASK
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
        if self.complete:
            self._apply_complete(group_id, leaving, member_id)
            return
        candidates = self.groups.get(group_id)
        if not isinstance(candidates, set):
            return  # not in memory (the next read sees the database) or "ask the database"
        if leaving:
            candidates.add(member_id)
            self.groups[group_id] = candidates if len(candidates) <= self.per_group else ASK  # re-weighed
        elif member_id in candidates:
            candidates.discard(member_id)
            self.groups[group_id] = candidates  # re-weighed: may evict the least recently used groups

    def _apply_complete(self, group_id: str, leaving: bool, member_id: str) -> None:
        candidates = self.groups.get(group_id)
        if isinstance(candidates, _AskDatabase):
            return
        if leaving:
            listed = candidates if candidates is not None else set()
            if member_id in listed:
                return
            if len(listed) >= self.per_group or self.held >= self.budget:
                self._ask(group_id, listed)
                return
            listed.add(member_id)
            self.groups[group_id] = listed
            self.held += 1
        elif candidates is not None and member_id in candidates:
            candidates.discard(member_id)
            self.held -= 1
            if not candidates:
                del self.groups[group_id]

    def _ask(self, group_id: str, listed: set[str]) -> None:
        """Stop listing the group: every member's first message there is looked up (correct, slower)."""
        self.held -= len(listed)
        self.groups[group_id] = ASK
        logger.bind(group=group_id).warning(
            "welcome: too many rejoin candidates to hold (per group {}, in all {}); first messages "
            "in this group are looked up",
            self.per_group,
            self.budget,
        )


def leavers_of(services: Services, read: Reader) -> Leavers:
    """The app's rejoin candidates: the complete memory the feature's setup provides, else a lazy one."""
    return services.get_or_make(Leavers, lambda: Leavers(read))
