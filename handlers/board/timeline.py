"""The campaign's timeline as one viewer sees it: each node done, skipped, running or next, with times.

A node runs once per group (the ledger's unique key), so in several groups it can be done in
some and not yet in others; the viewer sees the state over their own groups only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.campaign import TimelineNode
from bot.storage.timeline_store import LedgerEntry

DONE, SKIPPED, RUNNING, PENDING = "done", "skipped", "running", "pending"


@dataclass(frozen=True)
class NodeState:
    node_id: str
    kind: str
    due_at: datetime  # effective (a leader's delay applied)
    state: str  # done | skipped | running (some groups done) | pending
    ran_at: datetime | None  # the latest run among the viewer's groups
    skipped_groups: int
    is_next: bool


def node_states(
    nodes: Iterable[TimelineNode], ledger: Iterable[LedgerEntry], groups: list[str]
) -> list[NodeState]:
    """Each node's state over `groups`, in timeline order; the first not finished is `is_next`."""
    wanted = set(groups)
    runs: dict[str, list[LedgerEntry]] = {}
    for entry in ledger:
        if entry.group_id in wanted:
            runs.setdefault(entry.node_id, []).append(entry)
    states: list[NodeState] = []
    next_seen = False
    for node in nodes:
        ran = runs.get(node.node_id, [])
        skipped = sum(1 for e in ran if e.status == "skipped")
        if not ran:
            state = PENDING
        elif len({e.group_id for e in ran}) < len(wanted):
            state = RUNNING
        elif skipped == len(ran):
            state = SKIPPED
        else:
            state = DONE
        is_next = not next_seen and state in (PENDING, RUNNING)
        next_seen = next_seen or is_next
        states.append(
            NodeState(
                node.node_id,
                node.kind,
                node.fire_at,
                state,
                max((e.ran_at for e in ran), default=None),
                skipped,
                is_next,
            )
        )
    return states


def campaign_state(statuses: dict[str, str], groups: list[str]) -> str:
    """open if the sale is open in any of `groups`, reopen if a 限时返场 sells in any, closed once
    closed in all, else scheduled."""
    seen = [statuses.get(g, "scheduled") for g in groups]
    if "open" in seen:
        return "open"
    if "reopen" in seen:
        return "reopen"
    if seen and all(s == "closed" for s in seen):
        return "closed"
    return "scheduled"


__all__ = ["DONE", "PENDING", "RUNNING", "SKIPPED", "NodeState", "campaign_state", "node_states"]
