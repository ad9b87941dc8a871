"""`TimelineStore.set_group_status` moves a group's state in one statement where the dialect can
upsert (a node opening thousands of groups wrote an UPDATE and then an INSERT for each)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, select
from sqlmodel import col

from bot.storage.engine import init_db, make_engine
from bot.storage.tables import CampaignGroupState
from bot.storage.timeline_store import TimelineStore

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_a_state_is_inserted_or_moved_in_one_statement_keeping_the_other_stamp(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    init_db(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with engine.begin() as conn:
        TimelineStore.set_group_status(conn, "c", "g1", "open", NOW)
    assert len([s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]) == 1
    with engine.begin() as conn:
        TimelineStore.set_group_status(conn, "c", "g1", "closed", NOW + timedelta(hours=2))
        TimelineStore.set_group_status(conn, "c", "g2", "scheduled", NOW)
    store = TimelineStore(engine)
    assert store.group_statuses("c") == {"g1": "closed", "g2": "scheduled"}
    with engine.connect() as conn:
        row = conn.execute(select(CampaignGroupState).where(col(CampaignGroupState.group_id) == "g1")).one()
    assert (row.opened_at, row.closed_at) == (NOW, NOW + timedelta(hours=2))
    assert store.opened_at("c", "g2") is None
