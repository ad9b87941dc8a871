"""What a timeline node run did, kept in memory for rehearsal summaries and admin reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class NodeOutcome:
    """What happened when a node ran (kept in memory for rehearsal summaries).

    `scheduled_at` is the node's effective time (a leader's delay applied); `posted` counts
    groups that got messages, `quiet` groups where it ran and had nothing to say (a stock
    broadcast when sold out, a countdown after an early opening), `reasons` why groups were skipped.
    """

    campaign_id: str
    node_id: str
    kind: str
    scheduled_at: datetime
    ran_at: datetime
    posted: int
    skipped: int
    duplicate: int
    quiet: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
