"""What a rehearsal reports: each node against its effective time, and the run as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.campaign import Campaign
from bot.campaign.timeline_rules import CLOSED_EARLY

DELIBERATE_SKIPS = frozenset({CLOSED_EARLY})


@dataclass
class NodeReport:
    """What one node did in the rehearsal, measured against its effective time (a delay applied).

    status: "on time" (posted), "quiet" (ran, nothing to post, e.g. a broadcast when sold out),
    "late", "skipped" (in every group; `reasons` says why) or "never ran".
    """

    node_id: str
    kind: str
    scheduled: datetime
    ran_at: datetime | None
    late_seconds: float | None
    status: str
    posted: int = 0
    quiet: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def result(self) -> str:
        """One line for the table: posted, skipped and why, late by how much."""
        if self.ran_at is None:
            return "never ran"
        parts = []
        if self.posted:
            parts.append(f"posted in {self.posted} group{'s' if self.posted != 1 else ''}")
        if self.quiet:
            parts.append("ran, nothing to post" if not parts else f"nothing to post in {self.quiet}")
        for reason, count in self.reasons.items():
            parts.append(f"skipped in {count}: {reason}" if parts or self.posted else f"skipped: {reason}")
        if not parts:
            parts.append("already done")
        if self.status == "late" and self.late_seconds is not None:
            parts.append(f"late by {_late_label(self.late_seconds)}")
        return "; ".join(parts)

    @property
    def ok(self) -> bool:
        """Whether the node did what the timeline meant: on time, or skipped on purpose."""
        if self.status in ("on time", "quiet"):
            return True
        return self.status == "skipped" and set(self.reasons) <= DELIBERATE_SKIPS


def _late_label(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (
        (f"{hours}h" if hours else "")
        + (f"{minutes}m" if minutes else "")
        + (f"{secs}s" if secs or not (hours or minutes) else "")
    )


@dataclass
class RehearsalResult:
    campaign: Campaign
    speed: float
    nodes: list[NodeReport]
    transcript: list[dict[str, Any]]
    workdir: Path
    transcript_file: Path | None = None  # None when it was written into a workdir now removed

    @property
    def all_on_time(self) -> bool:
        """Every node ran at its effective time or was skipped on purpose (a closed group)."""
        return all(n.ok for n in self.nodes)
