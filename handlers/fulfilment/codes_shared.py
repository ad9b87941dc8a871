"""Pickup codes issued by another account's process are masked in this one's group posts too.

With several accounts the close (and so the issuing of codes) may run in the scheduler's
process, while a member pastes their code in a group another process serves. Each process
hides the unpicked codes it reads at start (`pickup_parts.setup`); this `SharedState`
(`bot.shared_state`) hides the ones issued since, once a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.context import Services
from handlers.fulfilment.codes import unpicked_codes


@dataclass
class CodesShared:
    services: Services
    known: set[str] = field(default_factory=set)

    def read(self) -> list[str]:
        return unpicked_codes(self.services.repo.engine)

    def apply(self, codes: list[str]) -> None:
        new = [c for c in codes if c not in self.known]
        if new:
            self.known.update(new)
            self.services.outbox.group_filter.hide(new)
