"""The persisted anchor of each campaign with a relative opening (``opens_at: +2h``).

The first load of a campaign id fixes its anchor; every later load (restart, edit, ``tuanbot
campaign show``) reads the same moment back, so ``+2h`` always means two hours after that first load.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.storage.tables import CampaignAnchor

__all__ = ["get_or_create_anchor"]


def get_or_create_anchor(engine: Engine, campaign_id: str, now: datetime) -> datetime:
    """The stored anchor of ``campaign_id``, storing ``now`` (aware) first if it has none.

    Two processes racing on the first load both end with the row that won the insert.
    """
    table = CampaignAnchor.__table__  # type: ignore[attr-defined]
    query = select(table.c.anchored_at).where(table.c.campaign_id == campaign_id)
    with engine.connect() as conn:
        found = conn.execute(query).scalar_one_or_none()
    if found is not None:
        return found
    try:
        with engine.begin() as conn:
            conn.execute(insert(table).values(campaign_id=campaign_id, anchored_at=now))
    except IntegrityError:
        pass
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()
