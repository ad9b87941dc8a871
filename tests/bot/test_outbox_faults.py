"""The sender survives a locked database (issue 12 item 2): it backs off, alerts once, and
delivers everything afterwards, each message once.

A second sqlite3 connection holds the write lock, as another process did in the report; the
engine's busy timeout is 50 ms so each refused write costs that little real time.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from pathlib import Path

from bot.config import OutboxSettings
from bot.events import Outgoing
from bot.outbox import Outbox
from bot.storage.engine import init_db, make_engine
from bot.storage.outbox_store import OutboxStore
from bot.vocab import Priority
from tests.bot.test_outbox import Recorder
from tests.fakes import FakeClock


class Lock:
    """Another process's connection holding the database's write lock."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=0, isolation_level=None)

    def take(self) -> None:
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")


class Alerts:
    """What the sender told the admins, through callbacks that queue into the outbox itself."""

    def __init__(self) -> None:
        self.outbox: Outbox | None = None
        self.attempts = 0
        self.calls: list[str] = []  # notices that were queued

    def on_trouble(self, kind: str, detail: str) -> None:
        assert self.outbox is not None
        self.attempts += 1
        # Queuing the notice fails while the database is locked: the loop must not mind.
        self.outbox.enqueue(f"发送故障 {kind}", member_id="admin", priority=Priority.ALERT, kind="admin")
        self.calls.append(f"trouble:{kind}")

    def on_recovered(self) -> None:
        assert self.outbox is not None
        self.outbox.enqueue("发送恢复", member_id="admin", priority=Priority.ALERT, kind="admin")
        self.calls.append("recovered")


def make(tmp_path: Path, clock: FakeClock) -> tuple[Outbox, OutboxStore, Lock, Alerts]:
    path = tmp_path / "o.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout_ms=50)
    init_db(engine)
    store = OutboxStore(engine)
    alerts = Alerts()
    outbox = Outbox(store, clock, OutboxSettings(), rng=random.Random(1))
    outbox.on_trouble = alerts.on_trouble  # as bot/app.py wires them to notify_admins
    outbox.on_recovered = alerts.on_recovered
    alerts.outbox = outbox
    outbox.load()
    return outbox, store, Lock(path), alerts


async def pump_for(outbox: Outbox, clock: FakeClock, seconds: float) -> None:
    """Drive the sender as its run loop would, on the fake clock, for `seconds` of bot time."""
    start = clock.now()
    while (clock.now() - start).total_seconds() < seconds:
        delay = await outbox.pump()
        assert delay is not None  # something is still waiting to go (or to be written)
        clock.advance(delay)


async def test_sender_survives_a_30s_lock_and_then_delivers_everything_once(tmp_path: Path) -> None:
    clock = FakeClock()
    outbox, store, lock, alerts = make(tmp_path, clock)
    rec = Recorder(outbox, clock)
    texts = [f"m{i}" for i in range(8)]
    for i, text in enumerate(texts):
        outbox.enqueue(text, group_id=f"g{i % 2}")
    await outbox.pump()
    assert len(rec.sent) == 1
    lock.take()
    await pump_for(outbox, clock, 30)
    assert alerts.attempts == 1 and alerts.calls == []  # tried once per episode; its queuing failed
    lock.release()
    await outbox.drain()
    delivered = [m.text for m in rec.sent]
    assert sorted(t for t in delivered if t.startswith("m")) == texts  # everything, nothing twice
    assert alerts.calls == ["trouble:database", "recovered"]
    # The admin notice that could not be queued during the lock went out after it.
    assert [m.text for m in rec.sent if m.member_id == "admin"] == ["发送故障 database\n发送恢复"]
    assert Counter(r.status for r in store.all_rows()) == {"sent": len(rec.sent)}


async def test_a_message_whose_sent_mark_failed_is_never_sent_again(tmp_path: Path) -> None:
    clock = FakeClock()
    outbox, store, lock, _ = make(tmp_path, clock)

    class LocksAfterFirstSend(Recorder):
        async def send(self, message: Outgoing) -> None:
            await super().send(message)
            if len(self.sent) == 1:
                lock.take()  # the database goes away between the send and its `sent` mark

    rec = LocksAfterFirstSend(outbox, clock)
    outbox.enqueue("once", group_id="g")
    outbox.enqueue("later", group_id="g")
    await outbox.pump()
    await pump_for(outbox, clock, 20)
    assert [m.text for m in rec.sent] == ["once"]  # not resent, and nothing goes while unwritten
    lock.release()
    await outbox.drain()
    assert [m.text for m in rec.sent if m.group_id] == ["once", "later"]
    assert {r.text: r.status for r in store.all_rows() if r.group_id} == {"once": "sent", "later": "sent"}
    # A restart after the lock does not send it again either.
    outbox2 = Outbox(store, clock, OutboxSettings(), rng=random.Random(1))
    outbox2.load()
    assert outbox2.pending() == 0


async def test_a_failed_sending_mark_means_not_sent_yet(tmp_path: Path) -> None:
    clock = FakeClock()
    outbox, store, lock, _ = make(tmp_path, clock)
    rec = Recorder(outbox, clock)
    outbox.enqueue("wait for me", group_id="g")
    lock.take()
    delay = await outbox.pump()
    assert rec.sent == [] and delay is not None
    lock.release()
    # A restart now would find it still queued (not uncertain) and send it.
    assert [r.status for r in store.all_rows()] == ["queued"]
    clock.advance(delay)
    await outbox.drain()
    assert [m.text for m in rec.sent if m.group_id] == ["wait for me"]


async def test_a_bug_in_the_sender_is_survived_and_reported(tmp_path: Path) -> None:
    clock = FakeClock()
    outbox, _, _, alerts = make(tmp_path, clock)
    rec = Recorder(outbox, clock)
    outbox.enqueue("still goes", group_id="g")
    original = outbox._target_ready_at
    calls = {"n": 0}

    def broken_once(target: str, now):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("bug")
        return original(target, now)

    outbox._target_ready_at = broken_once  # type: ignore[method-assign]
    delay = await outbox.pump()
    assert delay is not None and rec.sent == []
    clock.advance(delay)
    await outbox.drain()
    assert "still goes" in [m.text for m in rec.sent]
    assert alerts.calls == ["trouble:internal", "recovered"]


class SteppingClock(FakeClock):
    """A fake clock whose waits pass instantly in bot time (the run loop never sleeps for real)."""

    async def wait(self, event: asyncio.Event, seconds: float | None) -> None:
        if seconds is None:
            await event.wait()
        else:
            self.advance(seconds)
            await asyncio.sleep(0)


async def test_the_run_task_keeps_going_through_a_lock(tmp_path: Path) -> None:
    clock = SteppingClock()
    outbox, store, lock, _ = make(tmp_path, clock)
    rec = Recorder(outbox, clock)
    for i in range(4):
        outbox.enqueue(f"m{i}", group_id="g")
    lock.take()
    task = asyncio.create_task(outbox.run())
    start = clock.now()
    while (clock.now() - start).total_seconds() < 30:
        await asyncio.sleep(0)
        assert not task.done(), task.exception()
    lock.release()
    for _ in range(10_000):
        if len([m for m in rec.sent if m.group_id == "g"]) == 4:
            break
        await asyncio.sleep(0)
    task.cancel()
    assert [m.text for m in rec.sent if m.group_id == "g"] == ["m0", "m1", "m2", "m3"]
    assert not task.done() or task.cancelled()
