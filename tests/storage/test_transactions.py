"""A transaction is one transaction on SQLite too: SAVEPOINTs nest inside it, never commit it.

pysqlite by default sends no BEGIN until the first DML statement, so a SAVEPOINT issued
first starts the transaction and its RELEASE commits it (issue 12, fault 1: a timeline
claim committed alone, and a kill before the posts left a node "posted" with no post).
Each test looks from a second, independent connection while the first is still open.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.storage.engine import init_db, make_engine
from bot.storage.timeline_store import TimelineStore

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class Abort(Exception):
    """Raised to roll the outer transaction back."""


def _claim(conn: sa.Connection, group_id: str = "g1") -> bool:
    return TimelineStore.claim(
        conn,
        campaign_id="c",
        node_id="open",
        group_id=group_id,
        status="posted",
        scheduled_at=NOW,
        now=NOW,
    )


def _ledger_rows_seen_by_another_connection(path: Path) -> int:
    other = sqlite3.connect(path, timeout=5)
    try:
        return int(other.execute("SELECT count(*) FROM timeline_ledger").fetchone()[0])
    finally:
        other.close()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> tuple[sa.Engine, Path]:
    path = tmp_path / "tx.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    return engine, path


def test_claim_is_invisible_to_others_until_the_outer_transaction_commits(
    sqlite_file: tuple[sa.Engine, Path],
) -> None:
    engine, path = sqlite_file
    with engine.begin() as conn:
        assert _claim(conn)
        assert _ledger_rows_seen_by_another_connection(path) == 0
    assert _ledger_rows_seen_by_another_connection(path) == 1


def test_claim_rolls_back_with_the_posts_of_its_node(sqlite_file: tuple[sa.Engine, Path]) -> None:
    engine, path = sqlite_file
    with pytest.raises(Abort), engine.begin() as conn:
        assert _claim(conn)
        raise Abort
    assert _ledger_rows_seen_by_another_connection(path) == 0


def test_a_duplicate_claim_fails_alone_and_the_outer_transaction_goes_on(
    sqlite_file: tuple[sa.Engine, Path],
) -> None:
    engine, path = sqlite_file
    with engine.begin() as conn:
        assert _claim(conn, "g1")
        assert not _claim(conn, "g1")  # the savepoint rolls back only the duplicate insert
        assert _claim(conn, "g2")
    assert _ledger_rows_seen_by_another_connection(path) == 2


def test_an_immediate_write_transaction_takes_the_write_lock_up_front(
    sqlite_file: tuple[sa.Engine, Path],
) -> None:
    """OrderStore.write's BEGIN IMMEDIATE still works beside the nested-savepoint fix."""
    from handlers.selling.store import OrderStore

    engine, path = sqlite_file
    with OrderStore(engine).write() as conn:
        conn.execute(sa.text("SELECT 1"))
        other = sqlite3.connect(path, timeout=0.05)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
