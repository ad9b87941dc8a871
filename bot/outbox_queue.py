"""The outbox's queue in memory: what waits, found by id, by replace key and by coalescing kind.

This, not the table, is the authority on what is still queued in the running
process: the table is written behind it (`bot/storage/outbox_store.py`), so a
feature that asks "has this post left yet?" asks here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.outbox_merge import COALESCE_KINDS
from bot.outbox_pick import Queued


def target_of(group_id: str, member_id: str) -> str:
    return f"g:{group_id}" if group_id else f"m:{member_id}"


class OutboxQueue:
    """Queued messages by id, plus the two indexes enqueueing consults."""

    def __init__(self) -> None:
        self.items: dict[int, Queued] = {}
        self.by_replace: dict[tuple[str, str], int] = {}
        self.coalesce: dict[tuple[str, str], int] = {}  # (member target, kind) -> queued id

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Queued]:
        return iter(self.items.values())

    def get(self, row_id: int) -> Queued | None:
        return self.items.get(row_id)

    def add(self, item: Queued) -> None:
        self.items[item.id] = item
        if item.replace_key:
            self.by_replace[(item.target, item.replace_key)] = item.id
        elif item.member_id and item.kind in COALESCE_KINDS:
            self.coalesce[(item.target, item.kind)] = item.id

    def remove(self, item: Queued) -> None:
        self.items.pop(item.id, None)
        if item.replace_key and self.by_replace.get((item.target, item.replace_key)) == item.id:
            del self.by_replace[(item.target, item.replace_key)]
        if self.coalesce.get((item.target, item.kind)) == item.id:
            del self.coalesce[(item.target, item.kind)]

    def replaceable(self, row_id: int) -> Queued | None:
        """The item if it is still queued and not being handed to the network right now."""
        item = self.items.get(row_id)
        return None if item is None or item.sending else item

    def stale(self, group_id: str, kind: str) -> list[Queued]:
        """Still-queued (not in-flight) messages of `kind` to `group_id`."""
        return [i for i in self.items.values() if i.group_id == group_id and i.kind == kind and not i.sending]

    def queued_among(self, ids: Iterable[int]) -> set[int]:
        """Which of `ids` are still queued (the table would say `queued`)."""
        return {row_id for row_id in ids if self.replaceable(row_id) is not None}

    def holds(self, group_id: str, replace_key: str) -> bool:
        """Whether a post to `group_id` with `replace_key` has not left yet (queued or being sent)."""
        target = target_of(group_id, "")
        if (target, replace_key) in self.by_replace:
            return True
        # An older one with the key may be left if a newer one was queued while it was in flight.
        return any(i.target == target and i.replace_key == replace_key for i in self.items.values())
