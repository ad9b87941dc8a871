"""The ledger claim and the state change of one (node, group), with statements built once.

A node's fan-out claims thousands of groups in a row; building the update per group and
wrapping each claim in a savepoint of its own (to catch the unique key's error) cost more
than the rest of the group's work. Here the claim is an insert that ignores a conflict on
the ledger's unique key (SQLite and PostgreSQL), so "already ran" is a row count of 0, and
the caller's savepoint (`bot.campaign.phases`) is the only one. Other dialects fall back to
`TimelineStore.claim`. The semantics are `TimelineStore`'s: one row per (campaign, node,
group), ever; the state row is updated, or inserted the first time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import col

from bot.storage.tables import CampaignGroupState, TimelineLedger
from bot.storage.timeline_store import TimelineStore

_CLAIM: dict[str, Any] = {
    "sqlite": sqlite.insert(TimelineLedger).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(TimelineLedger).on_conflict_do_nothing(),
}
_STAMP = {"open": "opened_at", "closed": "closed_at"}
_STATE_INSERT = insert(CampaignGroupState)
_STATE_UPDATE: dict[str, Any] = {}


def claim(
    conn: Connection,
    *,
    campaign_id: str,
    node_id: str,
    group_id: str,
    status: str,
    scheduled_at: datetime,
    now: datetime,
    detail: str = "",
) -> bool:
    """Write the (node, group) ledger row; False if it already had one (nothing written)."""
    statement = _CLAIM.get(conn.dialect.name)
    if statement is None:
        return TimelineStore.claim(
            conn,
            campaign_id=campaign_id,
            node_id=node_id,
            group_id=group_id,
            status=status,
            scheduled_at=scheduled_at,
            now=now,
            detail=detail,
        )
    result = conn.execute(
        statement,
        {
            "campaign_id": campaign_id,
            "node_id": node_id,
            "group_id": group_id,
            "status": status,
            "scheduled_at": scheduled_at,
            "ran_at": now,
            "detail": detail[:500],
        },
    )
    return bool(result.rowcount)


def _state_update(status: str) -> Any:
    statement = _STATE_UPDATE.get(status)
    if statement is None:
        values: dict[str, Any] = {"status": status}
        if status in _STAMP:
            values[_STAMP[status]] = bindparam("b_at")
        statement = _STATE_UPDATE[status] = (
            update(CampaignGroupState)
            .where(
                col(CampaignGroupState.campaign_id) == bindparam("b_campaign"),
                col(CampaignGroupState.group_id) == bindparam("b_group"),
            )
            .values(**values)
        )
    return statement


def set_group_status(conn: Connection, campaign_id: str, group_id: str, status: str, now: datetime) -> None:
    """Move a campaign's state in a group (open/closed) in the caller's transaction, stamping when."""
    params: dict[str, Any] = {"b_campaign": campaign_id, "b_group": group_id}
    if status in _STAMP:
        params["b_at"] = now
    if conn.execute(_state_update(status), params).rowcount:
        return
    row: dict[str, Any] = {"campaign_id": campaign_id, "group_id": group_id, "status": status}
    if status in _STAMP:
        row[_STAMP[status]] = now
    conn.execute(_STATE_INSERT, row)
