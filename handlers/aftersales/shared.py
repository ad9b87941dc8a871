"""Who awaits a rating, followed from other account processes (several accounts: docs/deploy.md).

A leader's `/ticket 12 已解决` reaches whichever account the leader wrote to, and the member's
private "5" whichever account the member writes to: with several accounts these are often two
processes. The rating matcher answers from memory (`AftersalesState.awaiting`), so each process
follows the table once a second (`bot.shared_state`): the members with a ticket resolved in the
last `RATING_WINDOW` and not rated, one read on the `resolved_at` index.

Only the difference from the previous read is applied: a resolution or a rating this process
committed after the read began is already in memory, and a read that predates it must not undo
it (the next read carries it either way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.context import Services
from handlers.aftersales.matcher import RATING_WINDOW, state_of
from handlers.aftersales.store import TicketStore

Awaiting = dict[str, datetime]


@dataclass
class AftersalesShared:
    """`bot.shared_state.SharedState` of `AftersalesState.awaiting`; `last`: the previous read."""

    services: Services
    last: Awaiting = field(default_factory=dict)

    def read(self) -> Awaiting:
        since = self.services.clock.now() - RATING_WINDOW
        return TicketStore(self.services.repo.engine).awaiting_ratings(since)

    def apply(self, found: Awaiting) -> None:
        awaiting = state_of(self.services).awaiting
        for member_id, resolved_at in found.items():
            if self.last.get(member_id) != resolved_at:
                awaiting[member_id] = max(resolved_at, awaiting.get(member_id, resolved_at))
        for member_id in self.last.keys() - found.keys():
            awaiting.pop(member_id, None)  # rated (or resolved too long ago) in another process
        self.last = found


__all__ = ["AftersalesShared"]
