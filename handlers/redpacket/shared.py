"""Bursts another account's process started or closed, followed here (several accounts).

A red-packet rain is a timeline node, so with several accounts it starts in the scheduler's
process, and its close job runs there too, while the grabs arrive at whichever process serves
the group. The grab matcher answers from memory (`RedPacketMemory.bursts`), so each process
follows the live bursts once a second through this `SharedState` (`bot.shared_state`): the
same bulk read the feature's setup makes, each burst put in by id (a close read there ends it
here). A grab is still decided in the database, so memory a second behind costs a reply at most.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import Services
from handlers.redpacket.keywords import LATE_GRACE, LiveBurst
from handlers.redpacket.lookup import live_of
from handlers.redpacket.memory import memory_of
from handlers.redpacket.service import RedPacketStore


@dataclass
class RedPacketShared:
    services: Services

    def read(self) -> list[LiveBurst]:
        now = self.services.clock.now()
        return [live_of(b) for b in RedPacketStore(self.services.repo.engine).live(now - LATE_GRACE)]

    def apply(self, bursts: list[LiveBurst]) -> None:
        memory, now = memory_of(self.services), self.services.clock.now()
        for burst in bursts:
            if burst not in memory.bursts.groups.get(burst.group_id, {}).get(burst.said, ()):
                memory.bursts.remember(burst, now)
