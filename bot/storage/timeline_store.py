"""The timeline ledger, campaign states per group, and leader controls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.storage.tables import CampaignControl, CampaignGroupState, TimelineLedger

# Built once, so SQLAlchemy reuses the compiled statement for every group of every node.
_INSERT_LEDGER = insert(TimelineLedger)


@dataclass(frozen=True)
class LedgerEntry:
    campaign_id: str
    node_id: str
    group_id: str
    status: str
    scheduled_at: datetime
    ran_at: datetime
    detail: str


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
        try:
            with conn.begin_nested():
                conn.execute(
                    _INSERT_LEDGER,
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
        except IntegrityError:
            return False
        return True

    @staticmethod
    def set_group_status(
        conn: Connection, campaign_id: str, group_id: str, status: str, now: datetime
    ) -> None:
        """Move a campaign's state in a group (open/closed), inside the caller's transaction."""
        values: dict[str, object] = {"status": status}
        if status == "open":
            values["opened_at"] = now
        if status == "closed":
            values["closed_at"] = now
        updated = conn.execute(
            update(CampaignGroupState)
            .where(
                col(CampaignGroupState.campaign_id) == campaign_id,
                col(CampaignGroupState.group_id) == group_id,
            )
            .values(**values)
        )
        if not updated.rowcount:
            conn.execute(
                insert(CampaignGroupState).values(campaign_id=campaign_id, group_id=group_id, **values)
            )

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
