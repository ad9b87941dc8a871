"""A database made before a column existed gets it on start, with its rows kept."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from bot.schema import create_schema
from bot.storage.engine import make_engine
from bot.storage.outbox_store import OutboxStore


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
