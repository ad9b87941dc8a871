"""What a timeline node run did, kept in memory for rehearsal summaries and admin reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.trace_log import INFO, trace

# The per-group lines of a node run, and where they come from as loguru would name it. A line per
# group of a fan-out (10,000 in a burst of openings) goes as the hot path's log call, a queue put:
# loguru's record of each was a tenth of the fan-out lane's time on the event loop.
ORIGIN = "bot.campaign.node_runs:_tally"
ALREADY_RAN = "node already ran in this group; not posted again"
RAN = "node ran ({:.1f}s after its time): {} message(s) queued"
RAN_QUIET = "node ran ({:.1f}s after its time) with nothing to post"


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

    def count(self, group_id: str, posted: list[int] | None, late_seconds: float) -> None:
        """One group's run: already run before (None), posted (`posted`' ids) or quiet (none)."""
        where = {"campaign": self.campaign_id, "node": self.node_id, "group": group_id}
        if posted is None:
            self.duplicate += 1
            trace(INFO, ORIGIN, ALREADY_RAN, **where)
        elif posted:
            self.posted += 1
            trace(INFO, ORIGIN, RAN, late_seconds, len(posted), **where)
        else:
            self.quiet += 1
            trace(INFO, ORIGIN, RAN_QUIET, late_seconds, **where)
