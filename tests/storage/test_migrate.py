"""A database made before a column existed gets it on start, with its rows kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.schema import create_schema
from bot.storage.engine import make_engine
from bot.storage.outbox_store import OutboxStore
from tests.together import failures_together


def test_an_older_outbox_table_gains_the_account_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    create_schema(engine)
    with engine.begin() as conn:  # the table as a release before several accounts made it
        conn.execute(text("DROP INDEX ix_outbox_account"))
        conn.execute(text("ALTER TABLE outbox DROP COLUMN account"))
        conn.execute(text("ALTER TABLE outbox DROP COLUMN claimed"))
        conn.execute(text("ALTER TABLE process_lease DROP COLUMN state"))
        conn.execute(
            text(
                "INSERT INTO outbox (id, group_id, member_id, text, mentions, priority, kind, replace_key,"
                " status, attempts, last_error, created_at) VALUES (7, 'g', '', '旧消息', '', 50, 'reply', '',"
                " 'queued', 0, '', '2026-12-01 00:00:00')"
            )
        )
    assert "account" not in {c["name"] for c in inspect(engine).get_columns("outbox")}

    create_schema(engine)  # the next start

    columns = {c["name"] for c in inspect(engine).get_columns("outbox")}
    assert {"account", "claimed"} <= columns
    assert "state" in {c["name"] for c in inspect(engine).get_columns("process_lease")}
    assert "ix_outbox_account" in {i["name"] for i in inspect(engine).get_indexes("outbox")}
    [row] = OutboxStore(engine).queued()
    assert (row.id, row.text, row.account, row.claimed) == (7, "旧消息", "", True)


@pytest.mark.postgres
def test_several_processes_starting_at_once_on_an_empty_database_all_start(pg_url: str) -> None:
    """Three account processes' first start: the catalogue collided (`pg_type_typname_nsp_index`)
    and one or two of them stopped before the schema was made under a lock."""
    engines = [make_engine(pg_url) for _ in range(4)]
    failures = failures_together(create_schema, engines)
    assert failures == []
    assert "outbox" in inspect(engines[0]).get_table_names()
