"""The campaign runtime's memory that other account processes' writes move (several accounts).

A leader served by another account pauses or delays a sale there, and the scheduler may run
in another process, so this process's memoised pause, delay and node states would fall
behind. `CampaignShared` follows the table once a second (`bot.shared_state`): a changed
control or a moved ledger forgets what the runtime memoised about that campaign, exactly as
the process that made the change did. Jobs need nothing here: every process writes them to
the one shared job store, and only the elected scheduler runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.storage.tables import CampaignControl

if TYPE_CHECKING:
    from bot.campaign.runtime import CampaignRuntime

Snapshot = tuple[dict[str, CampaignControl], dict[str, int]]


@dataclass
class CampaignShared:
    """`bot.shared_state.SharedState` of the campaign runtime: controls and ledger movement."""

    runtime: CampaignRuntime
    ledger_counts: dict[str, int] = field(default_factory=dict)

    def read(self) -> Snapshot:
        store = self.runtime.store
        return store.all_controls(), store.ledger_counts(list(self.runtime.campaigns))

    def apply(self, snapshot: Snapshot) -> None:
        controls, counts = snapshot
        for campaign_id in list(self.runtime.campaigns):
            theirs = controls.get(campaign_id) or CampaignControl(campaign_id=campaign_id)
            mine = self.runtime.control(campaign_id)
            moved = (mine.paused, mine.delay_seconds) != (theirs.paused, theirs.delay_seconds)
            count = counts.get(campaign_id, 0)
            if moved or self.ledger_counts.get(campaign_id) != count:
                self.ledger_counts[campaign_id] = count
                self.runtime.follow(campaign_id, theirs if moved else None)
