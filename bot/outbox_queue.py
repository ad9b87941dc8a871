"""The outbox's queue in memory: what waits, found by id, by target, by replace key and by coalescing kind.

This, not the table, is the authority on what is still queued in the running
process: the table is written behind it (`bot/storage/outbox_store.py`), so a
feature that asks "has this post left yet?" asks here.

Per target it also keeps two heaps, so the send loop finds a target's next message
without looking at the rest of its queue (`bot/outbox_pick.py`): the due items by
(priority, id), and the delayed ones by `not_before`, moved over when they fall
due. Heap entries are dropped lazily: each carries the stamp its item had when it
was filed, and an entry whose stamp is no longer the item's is skipped.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from bot.outbox_merge import COALESCE_KINDS
from bot.outbox_pick import Queued

COMPACT_SLACK = 32  # a target's heaps are rebuilt once their dead entries outnumber its items by this much


def target_of(group_id: str, member_id: str) -> str:
    return f"g:{group_id}" if group_id else f"m:{member_id}"


class OutboxQueue:
    """Queued messages by id and by target, plus the indexes enqueueing and choosing consult.

    `on_change(target)` is called whenever what a target could send changes (an
    item added, removed, or given another `not_before`): the chooser re-files it.
    Change `not_before` only through `set_not_before`.
    """

    def __init__(self) -> None:
        self.items: dict[int, Queued] = {}
        self.by_target: dict[str, dict[int, Queued]] = {}  # insertion order, like `items`
        self.by_replace: dict[tuple[str, str], int] = {}
        self.coalesce: dict[tuple[str, str], int] = {}  # (member target, kind) -> queued id
        self.on_change: Callable[[str], None] | None = None
        self._due: dict[str, list[tuple[int, int, int]]] = {}  # target -> heap of (priority, id, stamp)
        self._later: dict[str, list[tuple[datetime, int, int]]] = {}  # target -> (not_before, id, stamp)
        self._stamp: dict[int, int] = {}  # id -> the stamp of its one live heap entry
        self._stamps = itertools.count(1)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Queued]:
        return iter(self.items.values())

    def get(self, row_id: int) -> Queued | None:
        return self.items.get(row_id)

    def add(self, item: Queued) -> None:
        target = item.target
        row_id = item.id
        self.items[row_id] = item
        mine = self.by_target.get(target)
        if mine is None:
            mine = self.by_target[target] = {}
            due: list[tuple[int, int, int]] = []
            self._due[target] = due
            self._later[target] = []
            had_due = False
        else:
            due = self._due[target]
            had_due = bool(due) and self._stamp.get(due[0][1]) == due[0][2]
        mine[row_id] = item
        self._stamp[row_id] = stamp = next(self._stamps)  # `_file`, inline: this is every enqueue
        if item.not_before is None:
            heapq.heappush(due, (item.priority, row_id, stamp))
        else:
            heapq.heappush(self._later[target], (item.not_before, row_id, stamp))
        if item.replace_key:
            self.by_replace[(target, item.replace_key)] = row_id
        elif item.member_id and item.kind in COALESCE_KINDS:
            self.coalesce[(target, item.kind)] = row_id
        if not had_due:  # with one due already, the target's first due time (-inf) cannot change
            self._changed(target)

    def remove(self, item: Queued) -> None:
        target = item.target
        if self.items.pop(item.id, None) is not None:
            self._stamp.pop(item.id, None)
            mine = self.by_target[target]
            del mine[item.id]
            if not mine:
                del self.by_target[target], self._due[target], self._later[target]
            elif len(self._due[target]) + len(self._later[target]) > 2 * len(mine) + COMPACT_SLACK:
                self._refile(target)
        if item.replace_key and self.by_replace.get((target, item.replace_key)) == item.id:
            del self.by_replace[(target, item.replace_key)]
        if self.coalesce.get((target, item.kind)) == item.id:
            del self.coalesce[(target, item.kind)]
        self._changed(target)

    def set_not_before(self, item: Queued, when: datetime | None) -> None:
        """Delay `item` until `when` (None: due now), keeping the per-target heaps right."""
        item.not_before = when
        if item.id in self.items:
            self._file(item)
            self._changed(item.target)

    # -- the per-target heaps (read by `bot/outbox_pick.py`) ------------------------------------
    def _file(self, item: Queued) -> None:
        stamp = next(self._stamps)
        self._stamp[item.id] = stamp
        if item.not_before is None:
            heapq.heappush(self._due[item.target], (item.priority, item.id, stamp))
        else:
            heapq.heappush(self._later[item.target], (item.not_before, item.id, stamp))

    def _refile(self, target: str) -> None:
        self._due[target] = []
        self._later[target] = []
        for item in self.by_target[target].values():
            self._file(item)

    def reindex(self) -> None:
        """Re-file every item (the clock went back: items moved to `due` may not be due again)."""
        for target in self.by_target:
            self._refile(target)

    def _changed(self, target: str) -> None:
        if self.on_change is not None:
            self.on_change(target)

    def first_due(self, target: str) -> datetime | None:
        """When `target`'s first item falls due: None if one is due already (or none is queued)."""
        stamp = self._stamp
        due = self._due.get(target) or []
        while due and stamp.get(due[0][1]) != due[0][2]:
            heapq.heappop(due)
        if due:
            return None
        later = self._later.get(target) or []
        while later and stamp.get(later[0][1]) != later[0][2]:
            heapq.heappop(later)
        return later[0][0] if later else None

    def head(self, target: str, now: datetime) -> Queued | None:
        """`target`'s best due item at `now` (lowest priority, then oldest), or None."""
        stamp = self._stamp
        due = self._due.get(target)
        if due is None:
            return None
        later = self._later[target]
        while later and later[0][0] <= now:
            _, row_id, mark = heapq.heappop(later)
            if stamp.get(row_id) == mark:
                heapq.heappush(due, (self.items[row_id].priority, row_id, mark))
        while due and stamp.get(due[0][1]) != due[0][2]:
            heapq.heappop(due)
        return self.items[due[0][1]] if due else None

    # -- questions --------------------------------------------------------------------------------
    def replaceable(self, row_id: int) -> Queued | None:
        """The item if it is still queued and not being handed to the network right now."""
        item = self.items.get(row_id)
        return None if item is None or item.sending else item

    def stale(self, group_id: str, kind: str) -> list[Queued]:
        """Still-queued (not in-flight) messages of `kind` to `group_id`."""
        if not group_id:  # the private messages, as the scan over everything always answered
            return [i for i in self.items.values() if not i.group_id and i.kind == kind and not i.sending]
        mine = self.by_target.get(target_of(group_id, ""), {})
        return [i for i in mine.values() if i.kind == kind and not i.sending]

    def queued_among(self, ids: Iterable[int]) -> set[int]:
        """Which of `ids` are still queued (the table would say `queued`)."""
        return {row_id for row_id in ids if self.replaceable(row_id) is not None}

    def holds(self, group_id: str, replace_key: str) -> bool:
        """Whether a post to `group_id` with `replace_key` has not left yet (queued or being sent)."""
        target = target_of(group_id, "")
        if (target, replace_key) in self.by_replace:
            return True
        # An older one with the key may be left if a newer one was queued while it was in flight.
        return any(i.replace_key == replace_key for i in self.by_target.get(target, {}).values())
