"""Which queued message leaves next: the outbox's hot path, one pass over the queue.

Per target (a group or a member), the best message that is due: lowest priority
number, then oldest. A post delayed until later (`not_before`) never holds back a
due one queued behind it; it only sets the time to look again. Private messages
yield to a sendable group post once they have had their turn, so a flood of
alerts cannot starve the groups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(order=True)
class Queued:
    """A message waiting in the outbox (ordered by priority, then id)."""

    priority: int
    id: int
    target: str = field(compare=False)
    group_id: str = field(compare=False)
    member_id: str = field(compare=False)
    text: str = field(compare=False)
    mentions: tuple[str, ...] = field(compare=False)
    kind: str = field(compare=False)
    replace_key: str = field(compare=False)
    attempts: int = field(default=0, compare=False)
    not_before: datetime | None = field(default=None, compare=False)
    sending: bool = field(default=False, compare=False)  # being handed to the network: no longer replaceable


def pick(
    items: Iterable[Queued],
    now: datetime,
    target_ready_at: Callable[[str, datetime], datetime],
    *,
    private_turn_over: bool,
) -> tuple[Queued | None, datetime | None]:
    """The best message sendable now, and the earliest time another target may send.

    `target_ready_at` applies the per-target pacing; with `private_turn_over`, a
    sendable group post goes before any private message.
    """
    heads: dict[str, Queued] = {}
    due_at: dict[str, datetime] = {}
    for item in items:
        not_before = item.not_before
        if not_before is not None and not_before > now:
            soonest = due_at.get(item.target)
            if soonest is None or not_before < soonest:
                due_at[item.target] = not_before
            continue
        head = heads.get(item.target)
        # `item < head` spelled out: the dataclass comparison builds two tuples per call.
        if head is None or (
            item.priority < head.priority or (item.priority == head.priority and item.id < head.id)
        ):
            heads[item.target] = item
    best: Queued | None = None
    best_group: Queued | None = None
    earliest: datetime | None = None
    for target, item in heads.items():
        ready = target_ready_at(target, now)
        if ready > now:
            earliest = ready if earliest is None else min(earliest, ready)
            continue
        if best is None or item < best:
            best = item
        if item.group_id and (best_group is None or item < best_group):
            best_group = item
    for target, not_before in due_at.items():
        if target not in heads:
            ready = max(not_before, target_ready_at(target, now))
            earliest = ready if earliest is None else min(earliest, ready)
    if best is not None and not best.group_id and best_group is not None and private_turn_over:
        best = best_group
    return best, earliest
