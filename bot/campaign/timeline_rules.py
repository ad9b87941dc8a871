"""Pure rules of the timeline after a leader steps in: which nodes are sale nodes, delays, durations.

Kept apart from the registry so they can be read (and tested) without a scheduler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.campaign import TimelineNode
from bot.storage.timeline_store import LedgerEntry

# Nodes that sell: once a group is closed (early, by `/close`) they have nothing left to do there,
# and posting them would announce a sale or a red-packet rain that cannot happen. Follow-ups
# (晒单有礼, after-sales) are for buyers of a closed sale and keep running; the close node itself is
# exactly-once through the ledger.
SALE_KINDS = frozenset({"preheat", "countdown", "redpacket", "open", "broadcast"})
CLOSED_EARLY = "group closed early"

# The longest shift a leader may ask for (`/campaign delay`, `/countdown`): anything longer is a typo,
# and past a few thousand years datetime arithmetic overflows.
MAX_LEADER_SHIFT = timedelta(days=30)


def skip_in_closed_group(node: TimelineNode, group_status: str) -> bool:
    """Whether `node` must not run in a group whose campaign state is `group_status`."""
    return group_status == "closed" and node.kind in SALE_KINDS


def shifted_nodes(
    nodes: list[TimelineNode], delay: timedelta, ledger: Iterable[LedgerEntry], groups: list[str]
) -> list[TimelineNode]:
    """Nodes with a leader's delay applied to every node still to run in some group.

    A node that ran (or was skipped) in every group keeps the time it was scheduled at when it
    ran, from the ledger: a delay shifts only what has not run yet, and a later delay must not
    move a finished node back to the file's time. A node that ran in only some groups (an early
    `/open` in one group) is still to run in the others, so it is shifted.
    """
    if not delay:
        return nodes
    ran: dict[str, set[str]] = {}
    scheduled: dict[str, datetime] = {}
    for entry in ledger:
        ran.setdefault(entry.node_id, set()).add(entry.group_id)
        previous = scheduled.get(entry.node_id)
        scheduled[entry.node_id] = (
            entry.scheduled_at if previous is None else max(previous, entry.scheduled_at)
        )
    wanted = set(groups)
    result = []
    for node in nodes:
        if wanted and ran.get(node.node_id, set()) >= wanted:
            result.append(replace(node, fire_at=scheduled[node.node_id].astimezone(node.fire_at.tzinfo)))
        else:
            result.append(replace(node, fire_at=node.fire_at + delay))
    return result


def readable_duration(seconds: float) -> str:
    """A duration a person reads at a glance: "6小时19分", "2天3小时", "45秒"."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    if minutes:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分"
    return f"{secs}秒"
