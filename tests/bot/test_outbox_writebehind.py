"""The outbox's rows are written behind it (issue 14): queueing runs no statement, the send loop
commits the owed writes in one transaction a pass, never sends a row that is not committed, keeps
refused writes and retries them, and a crash loses exactly the writes still owed."""

from __future__ import annotations

import gc
import random
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bot.config import OutboxSettings
from bot.events import Outgoing
from bot.outbox import Draft, Outbox
from bot.storage.engine import init_db, make_engine
from bot.storage.outbox_store import OutboxStore
from bot.vocab import Priority
from tests.bot.test_outbox import Recorder
from tests.fakes import FakeClock


def make(db_url: str, clock: FakeClock, *, in_thread: bool = False, **kw: Any) -> tuple[Outbox, OutboxStore]:
    engine = make_engine(db_url, **kw)
    init_db(engine)
    store = OutboxStore(engine)
    outbox = Outbox(store, clock, OutboxSettings(), rng=random.Random(1), write_in_thread=in_thread)
    outbox.load()
    return outbox, store


def table(engine: Engine) -> list[tuple[int, str, str]]:
    """The outbox table as a separate connection sees it (not through the store, which flushes)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, text, status FROM outbox ORDER BY id"))
        return [(r[0], r[1], r[2]) for r in rows]


class Statements:
    """Counts the SQL statements an engine runs, from any thread."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1


async def test_queueing_runs_no_statement_and_one_pass_writes_one_batch(db_url: str) -> None:
    clock = FakeClock()
    outbox, store = make(db_url, clock)
    seen = Statements(store.engine)
    ids = [outbox.enqueue(f"回复 {i}", group_id=f"g{i % 3}") for i in range(50)]
    outbox.replace(ids[0], "回复 0 改")
    outbox.enqueue("库存", group_id="g0", replace_key="stock")
    outbox.enqueue("库存 新", group_id="g0", replace_key="stock")
    outbox.enqueue("提醒", member_id="lily", kind="alert")
    outbox.enqueue("提醒 2", member_id="lily", kind="alert")  # merged into the queued one
    assert outbox.cancel_queued(group_id="g1", kind="reply") == 17
    assert seen.count == 0  # all of it in memory: no database round trip on the event loop
    assert ids == list(range(ids[0], ids[0] + 50))
    assert table(store.engine) == []
    batches = store.stats.batches
    await outbox.flush()
    assert store.stats.batches == batches + 1
    rows = {row_id: (body, status) for row_id, body, status in table(store.engine)}
    assert len(rows) == 52
    assert rows[ids[0]] == ("回复 0 改", "queued")
    assert rows[ids[1]][1] == "cancelled"
    assert {body for body, _ in rows.values() if body.startswith(("库存", "提醒"))} == {
        "提醒\n提醒 2",
        "库存 新",
    }


async def test_the_sender_hands_over_only_committed_rows_marked_sending(tmp_path: Path) -> None:
    clock = FakeClock()
    outbox, store = make(f"sqlite:///{tmp_path / 'o.db'}", clock, in_thread=True)
    seen_at_send: list[list[tuple[int, str, str]]] = []

    class Checks(Recorder):
        async def send(self, message: Outgoing) -> None:
            seen_at_send.append([r for r in table(store.engine) if r[0] == message.outbox_id])
            # Queued while this one is on the wire: not committed yet, so it must wait its turn.
            if len(seen_at_send) < 3:
                outbox.enqueue(f"after {message.text}", group_id="h")
            await super().send(message)

    rec = Checks(outbox, clock)
    first = outbox.enqueue("一", group_id="g")
    await outbox.drain()
    assert seen_at_send[0] == [(first, "一", "sending")]
    assert [rows[0][2] for rows in seen_at_send] == ["sending"] * 3
    assert [m.text for m in rec.sent] == ["一", "after 一", "after after 一"]


async def test_a_replace_while_the_message_is_being_sent_queues_a_new_one(db_url: str) -> None:
    clock = FakeClock()
    outbox, store = make(db_url, clock)

    class ReplacesMidSend(Recorder):
        async def send(self, message: Outgoing) -> None:
            if message.text == "库存 10":
                assert not outbox.replace(message.outbox_id or 0, "库存 9")
                assert outbox.queued_among([message.outbox_id or 0]) == set()
                assert outbox.holds("g", "stock")  # being sent: not left yet
                outbox.enqueue("库存 8", group_id="g", replace_key="stock")
            await super().send(message)

    rec = ReplacesMidSend(outbox, clock)
    outbox.enqueue("库存 10", group_id="g", replace_key="stock")
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["库存 10", "库存 8"]
    assert not outbox.holds("g", "stock")
    assert [r.status for r in store.all_rows()] == ["sent", "sent"]
    assert outbox.sent_at(store.all_rows()[0].id or 0) == rec.sent_at[0]


async def test_refused_writes_are_kept_retried_and_reported_once(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "o.db"
    outbox, store = make(f"sqlite:///{path}", clock, busy_timeout_ms=50)
    told: list[str] = []
    outbox.on_trouble = lambda kind, detail: told.append(kind)
    outbox.on_recovered = lambda: told.append("recovered")
    rec = Recorder(outbox, clock)
    for i in range(3):
        outbox.enqueue(f"m{i}", group_id=f"g{i}")  # accepted in memory: the database is fine so far
    lock = sqlite3.connect(path, timeout=0, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    for _ in range(4):
        delay = await outbox.pump()
        assert delay is not None
        clock.advance(delay)
    assert told == ["database"] and rec.sent == [] and store.owed() == 3
    lock.execute("ROLLBACK")
    await outbox.drain()
    assert told == ["database", "recovered"]
    assert sorted(m.text for m in rec.sent) == ["m0", "m1", "m2"]
    assert [r[2] for r in table(store.engine)] == ["sent"] * 3


async def test_a_crash_loses_exactly_the_writes_still_owed(db_url: str) -> None:
    clock = FakeClock()
    outbox, store = make(db_url, clock)
    outbox.enqueue("written", group_id="g")
    await outbox.flush()
    outbox.enqueue("still owed", group_id="g")
    del outbox, store  # the process dies before the next pass: its write log goes with it
    gc.collect()
    restarted, store2 = make(db_url, clock)
    assert [item.text for item in restarted.queue] == ["written"]
    fresh = restarted.enqueue("after restart", group_id="g")
    await restarted.flush()
    rows = store2.all_rows()
    assert [r.text for r in rows] == ["written", "after restart"]
    assert rows[1].id == fresh


async def test_timeline_posts_are_committed_with_their_claim_and_ids_never_collide(db_url: str) -> None:
    clock = FakeClock()
    outbox, store = make(db_url, clock)
    owed = outbox.enqueue("reply, owed", group_id="g")
    refused = outbox.enqueue_atomic([Draft("never", group_id="g")], lambda conn: False)
    assert refused is None and outbox.pending() == 1
    posted = outbox.enqueue_atomic(
        [Draft("开团", group_id="g", priority=Priority.CAMPAIGN, kind="open")], lambda conn: True
    )
    assert posted is not None and posted[0] != owed
    assert [r[1] for r in table(store.engine)] == ["开团"]  # committed before it was queued
    assert outbox.pending() == 2
    await outbox.flush()
    assert sorted(r[1] for r in table(store.engine)) == ["reply, owed", "开团"]
