"""The outbox's owed writes: a pass of many updates is few statements, and still in order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.schema import create_schema
from bot.storage.engine import make_engine
from bot.storage.outbox_store import OutboxStore, status_values
from bot.storage.tables import OutboxRow

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _store(tmp_path: Path) -> OutboxStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    create_schema(engine)
    store = OutboxStore(engine)
    store.seed_ids()
    return store


def _queue(store: OutboxStore, count: int) -> list[int]:
    ids = [store.allocate() for _ in range(count)]
    for row_id in ids:
        store.insert_behind(row_id, {"group_id": "g1", "text": f"first {row_id}", "kind": "notice"}, NOW)
    store.log.write(store.engine)
    return ids


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def _rows(store: OutboxStore) -> dict[int, tuple[str, str]]:
    with store.engine.connect() as conn:
        found = conn.execute(select(col(OutboxRow.id), col(OutboxRow.text), col(OutboxRow.status)))
        return {row_id: (text, status) for row_id, text, status in found}


def test_a_rolling_post_rerendered_many_times_between_passes_is_one_write(tmp_path: Path) -> None:
    store = _store(tmp_path)
    (row_id,) = _queue(store, 1)
    for n in range(80):  # a refusal notice re-rendered with every new name while it waits
        store.replace_behind(row_id, f"names 0..{n}", "")
    assert store.owed() == 1
    updates = _statements(store.engine)
    store.log.write(store.engine)
    assert len(updates) == 1
    assert _rows(store)[row_id] == ("names 0..79", "queued")


def test_a_text_owed_after_a_status_change_stays_after_it(tmp_path: Path) -> None:
    """The newer text must not move ahead of a cancel (or a sending mark) owed between them."""
    store = _store(tmp_path)
    (row_id,) = _queue(store, 1)
    store.replace_behind(row_id, "before the cancel", "")
    store.cancel_behind([row_id])
    store.replace_behind(row_id, "after the cancel", "")  # lands on no row: it has left the queue
    assert store.owed() == 3
    store.log.write(store.engine)
    assert _rows(store)[row_id] == ("before the cancel", "cancelled")


def test_a_pass_of_sent_marks_is_one_statement_and_the_last_answers_alone(tmp_path: Path) -> None:
    store = _store(tmp_path)
    ids = _queue(store, 50)
    for row_id in ids[:-1]:
        store.status_behind(row_id, status_values("sent", sent_at=NOW))
    updates = _statements(store.engine)
    hit = store.log.write(store.engine, [("status", ids[-1], status_values("sending"))])
    assert hit is True  # the extra op's own row count
    assert len(updates) == 2  # 49 sent marks in one executemany, the sending mark alone
    rows = _rows(store)
    assert [rows[row_id][1] for row_id in ids] == ["sent"] * 49 + ["sending"]
    assert store.log.write(store.engine, [("status", ids[-1], status_values("sending"))]) is False


def _steps(engine: Engine) -> list[int]:
    """SQLite steps per statement run: an executemany of n rows steps n times, and each step gives
    up the interpreter lock, to wait for it again behind the event loop (docs/performance.md)."""
    steps: list[int] = []

    def record(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, many: bool) -> None:
        steps.append(len(parameters) if many else 1)

    event.listen(engine, "before_cursor_execute", record)
    return steps


def _draft(group_id: str, text: str, kind: str) -> dict[str, Any]:
    """A row as `Outbox.enqueue` owes it: every column given."""
    return {
        "group_id": group_id,
        "member_id": "",
        "text": text,
        "mentions": "",
        "priority": 3,
        "kind": kind,
        "replace_key": "",
        "not_before": None,
        "account": "",
        "claimed": True,
    }


def test_a_pass_of_many_inserts_and_new_texts_steps_sqlite_a_few_times_not_once_a_row(
    tmp_path: Path,
) -> None:
    """A busy minute owes thousands of rows; the pass holds the process's write gate, which the
    order and inbound writers wait for, for as long as it steps (1 s for 3,000 rows under load)."""
    store = _store(tmp_path)
    ids = [store.allocate() for _ in range(3_000)]
    for row_id in ids:
        store.insert_behind(row_id, _draft(f"g{row_id % 7}", f"first {row_id}", "notice"), NOW)
    store.log.write(store.engine)
    for row_id in ids[:500]:
        store.log.owe(("status", row_id, status_values("sending")))  # a run of another shape between
    for row_id in ids[500:1_500]:
        store.replace_behind(row_id, f"newer {row_id}", "m1,m2")
    more = [store.allocate() for _ in range(1_000)]
    for row_id in more:
        store.insert_behind(row_id, _draft("g1", f"late {row_id}", "chain"), NOW)
    steps = _steps(store.engine)
    store.log.write(store.engine)
    assert sum(steps) <= 40, f"{sum(steps)} SQLite steps for 3,500 owed writes"
    rows = _rows(store)
    assert [rows[row_id] for row_id in ids[:3]] == [(f"first {row_id}", "sending") for row_id in ids[:3]]
    assert rows[ids[700]] == (f"newer {ids[700]}", "queued")
    assert rows[ids[2_000]] == (f"first {ids[2_000]}", "queued")
    assert rows[more[-1]] == (f"late {more[-1]}", "queued")
    with store.engine.connect() as conn:
        mentions = conn.execute(select(col(OutboxRow.mentions)).where(col(OutboxRow.id) == ids[700])).scalar()
    assert mentions == "m1,m2"


def test_a_pass_builds_its_statements_before_it_takes_the_write_lock(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The statements of a pass are built before its transaction: built inside it, their Python
    held the write lock, stretched by the busy event loop's share of the interpreter lock (a pass
    held the lock 60-70 ms in a flood, docs/performance.md)."""
    from bot.storage import outbox_log
    from bot.storage.write_lock import engine_gate

    store = _store(tmp_path)
    ids = _queue(store, 3)
    gate = engine_gate(store.engine)
    assert gate is not None
    built_holding: list[bool] = []
    real = outbox_log.updates_by_key

    def watching(*args: Any, **kwargs: Any) -> Any:
        built_holding.append(gate._holder is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox_log, "updates_by_key", watching)
    more = [store.allocate() for _ in range(2)]
    for row_id in more:  # a pass that inserts first, then updates: the updates come after a write
        store.insert_behind(row_id, {"group_id": "g1", "text": f"new {row_id}", "kind": "notice"}, NOW)
    for row_id in ids:
        store.status_behind(row_id, status_values("sent", sent_at=NOW))
    store.log.write(store.engine)
    assert built_holding == [False]
    assert {row_id: status for row_id, (_, status) in _rows(store).items()} == {
        **dict.fromkeys(ids, "sent"),
        **dict.fromkeys(more, "queued"),
    }
