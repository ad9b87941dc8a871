"""The timeline ledger, campaign states per group, and leader controls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.storage.multirow import MultiRowInserts
from bot.storage.tables import CampaignControl, CampaignGroupState, TimelineLedger

# Built once, so SQLAlchemy reuses the compiled statements for every group of every node: a
# fan-out claims thousands of groups in a row, and building them per group cost more than
# the rest of a group's work.
_INSERT_LEDGER = insert(TimelineLedger)
# Where the dialect can ignore the unique key's conflict, "already ran" is a row count of 0
# and no savepoint per claim is needed; other dialects catch the key's error in a savepoint.
_CLAIM_IGNORING_CONFLICT: dict[str, Any] = {
    "sqlite": sqlite.insert(TimelineLedger).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(TimelineLedger).on_conflict_do_nothing(),
}
_STAMP = {"open": "opened_at", "closed": "closed_at"}
_DRIVER_SQL = MultiRowInserts()
_STATE_INSERT = insert(CampaignGroupState)
_STATE_UPDATE: dict[str, Any] = {}
_STATE_UPSERT: dict[tuple[str, str], Any] = {}
_UPSERT_DIALECTS: dict[str, Any] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _state_upsert(dialect: str, status: str) -> Any:
    """One statement that moves the state, inserting the row if the group has none (a node
    opening a thousand groups for the first time wrote an UPDATE and then an INSERT for each);
    None where the dialect has no upsert."""
    make = _UPSERT_DIALECTS.get(dialect)
    if make is None:
        return None
    statement = _STATE_UPSERT.get((dialect, status))
    if statement is None:
        base = make(CampaignGroupState)
        columns = ["status"] + ([_STAMP[status]] if status in _STAMP else [])
        statement = _STATE_UPSERT[(dialect, status)] = base.on_conflict_do_update(
            index_elements=[col(CampaignGroupState.campaign_id), col(CampaignGroupState.group_id)],
            set_={name: base.excluded[name] for name in columns},
        )
    return statement


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


@dataclass(frozen=True)
class LedgerEntry:
    campaign_id: str
    node_id: str
    group_id: str
    status: str
    scheduled_at: datetime
    ran_at: datetime
    detail: str


def _ledger_row(
    campaign: str, node: str, group: str, status: str, scheduled: datetime, now: datetime, detail: str
) -> dict[str, Any]:
    return {
        "campaign_id": campaign,
        "node_id": node,
        "group_id": group,
        "status": status,
        "scheduled_at": scheduled,
        "ran_at": now,
        "detail": detail[:500],
    }


def _one_row(conn: Connection, statement: Any, row: dict[str, Any]) -> Any:
    """Run `statement` for one row, as the driver's SQL where SQLite allows (`MultiRowInserts`):
    a fan-out chunk claims and moves the state of each of its groups, and SQLAlchemy's own
    per-statement steps were twice the driver's (a third of a burst's time on the loop)."""
    form = _DRIVER_SQL.driver_form(conn.dialect, statement, tuple(row), [tuple(row.values())])
    if form is None or len(form) != 1:
        return conn.execute(statement, row)
    sql, params = form[0]
    return conn.exec_driver_sql(sql, params)


def _claim_row(conn: Connection, row: dict[str, Any]) -> bool:
    ignoring_conflict = _CLAIM_IGNORING_CONFLICT.get(conn.dialect.name)
    if ignoring_conflict is not None:
        return bool(_one_row(conn, ignoring_conflict, row).rowcount)
    try:
        with conn.begin_nested():
            conn.execute(_INSERT_LEDGER, row)
    except IntegrityError:
        return False
    return True


class TimelineStore:
    """Storage for the campaign timeline; claims are made inside the caller's transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
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
        """Record that a node ran for a group; False if it already had (the unique key says so)."""
        row = _ledger_row(campaign_id, node_id, group_id, status, scheduled_at, now, detail)
        return _claim_row(conn, row)

    @staticmethod
    def claim_many(
        conn: Connection,
        campaign_id: str,
        node_id: str,
        group_ids: list[str],
        *,
        status: str,
        scheduled_at: datetime,
        now: datetime,
        detail: str = "",
    ) -> int:
        """`claim` in several groups, in the caller's transaction; how many were new.

        On SQLite one executemany (its row count is the sum); elsewhere one claim per group."""
        rows = [_ledger_row(campaign_id, node_id, g, status, scheduled_at, now, detail) for g in group_ids]
        if conn.dialect.name != "sqlite" or not rows:
            return sum(_claim_row(conn, row) for row in rows)
        return int(conn.execute(_CLAIM_IGNORING_CONFLICT["sqlite"], rows).rowcount)

    @staticmethod
    def set_group_status(
        conn: Connection, campaign_id: str, group_id: str, status: str, now: datetime
    ) -> None:
        """Move a campaign's state in a group (open/closed), inside the caller's transaction."""
        row: dict[str, Any] = {"campaign_id": campaign_id, "group_id": group_id, "status": status}
        if status in _STAMP:
            row[_STAMP[status]] = now
        upsert = _state_upsert(conn.dialect.name, status)
        if upsert is not None:
            _one_row(conn, upsert, row)
            return
        params: dict[str, Any] = {"b_campaign": campaign_id, "b_group": group_id}
        if status in _STAMP:
            params["b_at"] = now
        if conn.execute(_state_update(status), params).rowcount:
            return
        conn.execute(_STATE_INSERT, row)

    def group_status(self, campaign_id: str, group_id: str) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(col(CampaignGroupState.status)).where(
                    col(CampaignGroupState.campaign_id) == campaign_id,
                    col(CampaignGroupState.group_id) == group_id,
                )
            ).first()
        return str(row[0]) if row else "scheduled"

    def group_statuses(self, campaign_id: str) -> dict[str, str]:
        """The campaign's state in every group that has one, in one query (a node's fan-out asks)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(CampaignGroupState.group_id), col(CampaignGroupState.status)).where(
                    col(CampaignGroupState.campaign_id) == campaign_id
                )
            ).all()
        return {str(group_id): str(status) for group_id, status in rows}

    def opened_at(self, campaign_id: str, group_id: str) -> datetime | None:
        """When the sale really opened in the group (early by `/open`, or on time); None if not yet."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(col(CampaignGroupState.opened_at)).where(
                    col(CampaignGroupState.campaign_id) == campaign_id,
                    col(CampaignGroupState.group_id) == group_id,
                )
            ).first()
        return row[0] if row is not None else None

    def ledger(self, campaign_id: str) -> list[LedgerEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TimelineLedger)
                .where(col(TimelineLedger.campaign_id) == campaign_id)
                .order_by(col(TimelineLedger.scheduled_at), col(TimelineLedger.id))
            ).all()
        return [
            LedgerEntry(
                campaign_id=r.campaign_id,
                node_id=r.node_id,
                group_id=r.group_id,
                status=r.status,
                scheduled_at=r.scheduled_at,
                ran_at=r.ran_at,
                detail=r.detail,
            )
            for r in rows
        ]

    def done_nodes(self, campaign_id: str) -> set[tuple[str, str]]:
        """(node_id, group_id) pairs already executed or skipped."""
        return {(e.node_id, e.group_id) for e in self.ledger(campaign_id)}

    def control(self, campaign_id: str) -> CampaignControl:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(CampaignControl).where(col(CampaignControl.campaign_id) == campaign_id)
            ).first()
        if row is None:
            return CampaignControl(campaign_id=campaign_id)
        return CampaignControl.model_validate(dict(row._mapping))

    def save_control(self, control: CampaignControl) -> None:
        values = control.model_dump()
        with self.engine.begin() as conn:
            updated = conn.execute(
                update(CampaignControl)
                .where(col(CampaignControl.campaign_id) == control.campaign_id)
                .values(**{k: v for k, v in values.items() if k != "campaign_id"})
            )
            if not updated.rowcount:
                conn.execute(insert(CampaignControl).values(**values))

    # -- what other account processes changed (bot.campaign.peer_state) --------------------
    def all_controls(self) -> dict[str, CampaignControl]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(CampaignControl)).all()
        return {r.campaign_id: CampaignControl.model_validate(dict(r._mapping)) for r in rows}

    def ledger_counts(self, campaign_ids: list[str]) -> dict[str, int]:
        """Ledger rows of these campaigns: a count that moved means some node ran or was skipped.

        Only the campaigns asked for (the loaded ones): the ledger keeps every past campaign."""
        if not campaign_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(TimelineLedger.campaign_id), func.count())
                .where(col(TimelineLedger.campaign_id).in_(campaign_ids))
                .group_by(col(TimelineLedger.campaign_id))
            ).all()
        return {r[0]: int(r[1]) for r in rows}
