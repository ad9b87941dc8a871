"""Issue 14: orders from a burst batch together, and the selling hot path reads no database on the loop.

The handler hands an order to the writer and returns; the order is acknowledged
(its notice or 接龙 list queued) only from the batch's after-commit callback.
`App.handle_event` is called directly here (not `FakeTransport.inject`, which
settles the writer after each message) and `services.settle()` waits explicitly.
The writer is held with a gate in its thread, so "returned before the commit" is
shown, not timed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.selling.ops import Operation, OpResult
from handlers.selling.tables import ORDERS
from tests.bot.test_hot_path_no_db import LoopStatements
from tests.commerce.selling_kit import G1, Shop, build_shop, campaign_text
from tests.fakes import FakeClock

N = 60


def _active_units(shop: Shop) -> int:
    with shop.app.services.repo.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(ORDERS.c.quantity), 0))).scalar_one())


@pytest.fixture
def gate(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Shop, threading.Event]]:
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=(G1,), a1=N, limit=5))
    held = threading.Event()
    store = shop.sell.store
    apply = store.apply

    def gated(ops: list[Operation], now: datetime) -> list[OpResult]:
        held.wait()  # the test opens the gate; `finally` below opens it whatever happens
        return apply(ops, now)

    store.apply = gated  # type: ignore[method-assign]
    try:
        yield shop, held
    finally:
        held.set()


async def test_a_burst_one_message_at_a_time_batches_and_acks_only_after_commit(
    gate: tuple[Shop, threading.Event],
) -> None:
    shop, held = gate
    held.set()
    await shop.open()
    held.clear()
    shop.transport.clear()
    outbox = shop.app.services.outbox
    queued_before = outbox.pending()
    acked_with: list[int] = []
    writer = shop.sell.writer
    original = writer.on_commit
    assert original is not None

    def record(ops: list[Operation], results: list[OpResult]) -> None:
        acked_with.append(_active_units(shop))  # what is committed when the batch is answered
        original(ops, results)

    writer.on_commit = record
    for n in range(N):
        result = await shop.app.handle_event(shop.message("A1 1", f"m{n}", name=f"团员{n}"))
        assert result.handled_by  # the handler returned: the writer is still held
    assert _active_units(shop) == 0  # nothing committed yet...
    assert outbox.pending() == queued_before and not acked_with  # ...and nothing acknowledged

    held.set()
    await shop.app.services.settle()
    assert _active_units(shop) == N
    assert shop.stock() == 0
    assert writer.stats.operations == N and writer.stats.batches <= 2  # batched, not one by one
    assert acked_with and all(units > 0 for units in acked_with)
    await shop.drain()
    chains = [m.text for m in shop.transport.sent if m.kind == "chain"]
    assert chains and f"团员{N - 1}" in chains[-1]  # the newest lines of the list (it shows 40)


async def test_an_order_then_a_cancel_from_the_same_member_apply_in_order(
    gate: tuple[Shop, threading.Event],
) -> None:
    shop, held = gate
    held.set()
    await shop.open()
    held.clear()
    shop.transport.clear()
    await shop.app.handle_event(shop.message("A1 2", "alice", name="爱丽丝"))
    await shop.app.handle_event(shop.message("取消", "alice", name="爱丽丝"))
    await shop.app.handle_event(shop.message("A1 1", "alice", name="爱丽丝"))
    assert _active_units(shop) == 0
    held.set()
    await shop.app.services.settle()
    assert [(o.member_id, o.quantity) for o in shop.sell.store.orders("t1")] == [("alice", 1)]
    assert shop.stock() == N - 1
    await shop.drain()
    assert any("爱丽丝" in m.text for m in shop.transport.sent if m.kind == "notice")  # told of the cancel


@pytest.mark.parametrize("text", ["A1 1", "今天的草莓甜不甜", "大家好"])
async def test_a_repeated_order_form_or_chatter_reads_no_database_on_the_loop(
    tmp_path: Path, clock: FakeClock, text: str
) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=(G1,), a1=100, limit=50))
    await shop.open()
    await shop.say("A1 1", "alice")  # the member has ordered once: the common case
    await shop.say("A1 1", "bob", name="鲍勃")
    recorder = LoopStatements(shop.app, within="handlers/selling/")  # selling's own statements
    try:
        recorder.recording = True
        await shop.app.handle_event(shop.message(text, "alice"))
        await shop.app.services.settle()  # the batch is answered from what the writer read back
        recorder.recording = False
    finally:
        recorder.close()
    assert recorder.seen == []
    if text == "A1 1":
        assert _active_units(shop) == 3


async def test_a_big_batch_is_answered_in_slices_with_the_loop_running_between(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Under a flood the writer's batch holds hundreds of orders; answering them all in one loop
    step stalled chat 40-56 ms (docs/performance.md). The loop runs between slices of answers."""
    from handlers.selling.order_writer import ANSWER_SLICE

    members = 2 * ANSWER_SLICE + 7
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=(G1,), a1=members, limit=5))
    await shop.open()
    writer = shop.sell.writer
    original = writer.on_commit
    assert original is not None
    answered: list[int] = []
    seen_by_loop: list[int] = []

    def record(ops: list[Operation], results: list[OpResult]) -> None:
        answered.append(len(ops))
        original(ops, results)

    def tick() -> None:
        seen_by_loop.append(sum(answered))
        if sum(answered) < members:
            asyncio.get_running_loop().call_soon(tick)

    writer.on_commit = record
    for n in range(members):  # queued before the writer's first batch: one batch
        await shop.app.handle_event(shop.message("A1 1", f"b{n}", name=f"团员{n}"))
    asyncio.get_running_loop().call_soon(tick)
    await shop.app.services.settle()
    assert writer.stats.batches == 1 and writer.stats.largest_batch == members
    assert answered == [ANSWER_SLICE, ANSWER_SLICE, 7]
    assert {ANSWER_SLICE, 2 * ANSWER_SLICE} <= set(seen_by_loop)  # chat could be read in between
    assert _active_units(shop) == members


async def test_my_orders_waits_for_orders_sent_before_it_not_for_a_writer_never_idle(
    tmp_path: Path, clock: FakeClock
) -> None:
    """我的订单 shows one's order sent just before; under a flood the writer is never idle, so
    waiting for idle (as `settle` does) held the answer, and its group, for seconds."""
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=(G1,), a1=N, limit=5))
    await shop.open()
    permits = threading.Semaphore(0)  # one committed batch per permit
    store = shop.sell.store
    apply = store.apply

    def gated(ops: list[Operation], now: datetime) -> list[OpResult]:
        assert permits.acquire(timeout=10)
        return apply(ops, now)

    store.apply = gated  # type: ignore[method-assign]
    await shop.app.handle_event(shop.message("A1 2", "alice", name="爱丽丝"))
    await asyncio.sleep(0)  # the writer takes alice's order as its batch
    asking = asyncio.create_task(shop.app.handle_event(shop.message("我的订单", "alice", name="爱丽丝")))
    await asyncio.sleep(0)  # alice asks before the flood's orders are queued
    for n in range(5):  # the flood goes on
        await shop.app.handle_event(shop.message("A1 1", f"m{n}", name=f"团员{n}"))
    permits.release()  # alice's batch commits; the next one is held
    await asyncio.wait_for(asking, 5)
    assert not shop.sell.writer.idle and _active_units(shop) == 2
    await shop.drain()
    answer = [m.text for m in shop.transport.sent if "爱丽丝" in m.text and "×2" in m.text]
    assert answer, [m.text for m in shop.transport.sent]
    for _ in range(5):
        permits.release()
    await shop.app.services.settle()
    assert _active_units(shop) == 7


async def test_the_next_batch_commits_while_the_last_one_is_answered(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Under a flood, answering a batch of 500 (notices, 接龙 lists, a slice at a time with chat
    read between) took the loop 25-40 ms, and the writer's thread sat idle until it was done:
    a third of the writer's time in the flash sale (docs/performance.md). The next batch is
    committed meanwhile; answers still go out in order, each after its own commit."""
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=(G1,), a1=N, limit=5))
    await shop.open()
    writer, store = shop.sell.writer, shop.sell.store
    writer.max_batch = 3
    apply, original = store.apply, writer.on_commit
    assert original is not None
    committed: list[list[str]] = []
    second_committed = threading.Event()

    def counting(ops: list[Operation], now: datetime) -> list[OpResult]:
        results = apply(ops, now)
        committed.append([op.member_id for op in ops])
        if len(committed) == 2:
            second_committed.set()
        return results

    answered: list[str] = []
    overlapped: list[bool] = []

    def record(ops: list[Operation], results: list[OpResult]) -> None:
        if not overlapped:  # the loop answers the first batch while the thread commits the second
            overlapped.append(second_committed.wait(timeout=3))
        answered.extend(op.member_id for op in ops)
        original(ops, results)

    store.apply = counting  # type: ignore[method-assign]
    writer.on_commit = record
    for n in range(7):
        await shop.app.handle_event(shop.message("A1 1", f"m{n}", name=f"团员{n}"))
    await shop.app.services.settle()
    assert overlapped == [True]
    assert answered == [f"m{n}" for n in range(7)] == [m for batch in committed for m in batch]
    assert _active_units(shop) == 7
