"""Outbox: rate limits under a burst, priorities, persistence across restarts, frequency errors."""

from __future__ import annotations

import random
from datetime import timedelta

from bot.config import OutboxSettings
from bot.outbox import Outbox
from bot.storage.engine import init_db, make_engine
from bot.storage.outbox_store import OutboxStore
from bot.transports.base import SendError
from bot.vocab import Priority
from tests.fakes import FakeClock, FakeTransport


class Recorder(FakeTransport):
    def __init__(self, outbox: Outbox, clock: FakeClock) -> None:  # no app needed
        self.clock = clock
        self.sent = []
        self.sent_at = []
        self.fail_next = []
        self.connected = True
        outbox.attach(self)


def make_outbox(db_url: str, clock: FakeClock, **settings) -> tuple[Outbox, OutboxStore]:
    engine = make_engine(db_url)
    init_db(engine)
    store = OutboxStore(engine)
    outbox = Outbox(store, clock, OutboxSettings(**settings), rng=random.Random(1))
    outbox.load()
    return outbox, store


def assert_within_limits(rec: Recorder, *, group_interval: float, per_minute: int) -> None:
    last: dict[str, object] = {}
    for message, at in zip(rec.sent, rec.sent_at, strict=True):
        target = message.group_id or message.member_id
        if target in last:
            assert (at - last[target]).total_seconds() >= group_interval - 1e-9, (target, at)
        last[target] = at
    times = rec.sent_at
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t - start < timedelta(seconds=60)]
        assert len(in_window) <= per_minute, f"{len(in_window)} sends within 60 s starting {start}"


async def test_burst_of_500_never_exceeds_group_or_account_rate(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    rng = random.Random(3)
    groups = [f"g{i}" for i in range(20)]
    for i in range(500):
        outbox.enqueue(f"msg {i}", group_id=rng.choice(groups), priority=rng.choice([10, 50, 70]))
    await outbox.drain()
    assert len(rec.sent) == 500
    assert_within_limits(rec, group_interval=3.0, per_minute=30)
    # 500 messages at 30/minute take at least 16 minutes of bot time, and not absurdly more.
    elapsed = (rec.sent_at[-1] - rec.sent_at[0]).total_seconds()
    assert 16 * 60 <= elapsed <= 20 * 60
    # Switching groups always pauses at least 1 s.
    for (m1, t1), (m2, t2) in zip(zip(rec.sent, rec.sent_at), zip(rec.sent[1:], rec.sent_at[1:])):
        if m1.group_id != m2.group_id:
            assert (t2 - t1).total_seconds() >= 1.0


async def test_single_group_burst_is_spaced_by_group_interval(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock, group_interval_seconds=3)
    rec = Recorder(outbox, clock)
    for i in range(50):
        outbox.enqueue(f"m{i}", group_id="g")
    await outbox.drain()
    gaps = {(b - a).total_seconds() for a, b in zip(rec.sent_at, rec.sent_at[1:])}
    assert min(gaps) >= 3.0


async def test_priority_order_is_kept(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    outbox.enqueue("faq 1", group_id="g", priority=Priority.CHATTER)
    outbox.enqueue("reply 1", group_id="g", priority=Priority.DEFAULT)
    outbox.enqueue("open!", group_id="g", priority=Priority.CAMPAIGN)
    outbox.enqueue("faq 2", group_id="g", priority=Priority.CHATTER)
    outbox.enqueue("alert", member_id="lily", priority=Priority.ALERT)
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["alert", "open!", "reply 1", "faq 1", "faq 2"]


async def test_queued_messages_survive_restart_and_are_sent_once(db_url) -> None:
    clock = FakeClock()
    outbox, store = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    for i in range(10):
        outbox.enqueue(f"m{i}", group_id="g")
    await outbox.pump()  # one leaves now; the rest wait for the group interval
    assert [m.text for m in rec.sent] == ["m0"]
    # The process dies here. A new outbox on the same database takes over.
    outbox2, _ = make_outbox(db_url, clock)
    rec2 = Recorder(outbox2, clock)
    await outbox2.drain()
    assert [m.text for m in rec2.sent] == [f"m{i}" for i in range(1, 10)]
    # And a third start sends nothing more.
    outbox3, _ = make_outbox(db_url, clock)
    rec3 = Recorder(outbox3, clock)
    await outbox3.drain()
    assert rec3.sent == []
    assert sorted(r.status for r in store.all_rows()) == ["sent"] * 10


async def test_restart_respects_rate_of_messages_sent_just_before(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    outbox.enqueue("a", group_id="g")
    outbox.enqueue("b", group_id="g")
    await outbox.pump()
    outbox2, _ = make_outbox(db_url, clock)
    rec2 = Recorder(outbox2, clock)
    await outbox2.drain()
    assert (rec2.sent_at[0] - rec.sent_at[0]).total_seconds() >= 3.0


async def test_message_caught_mid_send_is_not_resent(db_url) -> None:
    clock = FakeClock()
    outbox, store = make_outbox(db_url, clock)
    row_id = outbox.enqueue("maybe sent", group_id="g")
    store.set_status(row_id, "sending")  # as if the process died inside transport.send
    outbox2, _ = make_outbox(db_url, clock)
    rec = Recorder(outbox2, clock)
    await outbox2.drain()
    assert rec.sent == []
    assert store.all_rows()[0].status == "uncertain"


async def test_replace_key_swaps_queued_message_for_newer(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    outbox.enqueue("hello", group_id="g")
    await outbox.pump()
    for left in (10, 8, 5):
        outbox.enqueue(f"仅剩{left}件", group_id="g", replace_key="stock")
    outbox.enqueue("仅剩9件 in another group", group_id="h", replace_key="stock")
    await outbox.drain()
    assert [m.text for m in rec.sent if m.group_id == "g"] == ["hello", "仅剩5件"]
    assert outbox.stats.replaced == 2


async def test_frequency_error_pauses_everything_then_slows_down(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock, frequency_pause_seconds=60, frequency_slowdown=2.0)
    rec = Recorder(outbox, clock)
    rec.fail_next = [SendError("操作过于频繁", rate_limited=True)]
    start = clock.now()
    for i in range(4):
        outbox.enqueue(f"m{i}", group_id="g")
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["m0", "m1", "m2", "m3"]  # nothing lost, order kept
    assert (rec.sent_at[0] - start).total_seconds() >= 60
    gaps = [(b - a).total_seconds() for a, b in zip(rec.sent_at, rec.sent_at[1:])]
    assert min(gaps) >= 6.0  # group interval doubled during the slowdown


async def test_retryable_failure_keeps_message_until_it_goes(db_url) -> None:
    clock = FakeClock()
    outbox, store = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    rec.fail_next = [SendError("connection lost"), SendError("connection lost")]
    outbox.enqueue("important", group_id="g")
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["important"]
    assert store.all_rows()[0].attempts == 2


async def test_daily_budget_warns_at_80_percent_and_holds_the_rest_until_tomorrow(db_url) -> None:
    clock = FakeClock()
    warnings: list[tuple[int, int]] = []
    outbox, _ = make_outbox(
        db_url, clock, daily_budget=10, group_interval_seconds=0, switch_pause_seconds=(0, 0)
    )
    outbox.on_budget_warning = lambda used, budget: warnings.append((used, budget))
    rec = Recorder(outbox, clock)
    for i in range(12):
        outbox.enqueue(f"m{i}", group_id="g")
    await outbox.drain()
    assert warnings == [(8, 10)]
    day_of = [t.astimezone(outbox.tz).date() for t in rec.sent_at]
    assert day_of.count(day_of[0]) == 10 and len(rec.sent) == 12
    assert day_of[10] > day_of[0]


async def test_delayed_replaceable_post_combines_a_burst(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    start = clock.now()
    names: list[str] = []
    for i in range(30):
        names.append(f"m{i}")
        outbox.enqueue("欢迎 " + "、".join(names), group_id="g", replace_key="welcome", delay=60)
        await outbox.pump()
        clock.advance(1)
    await outbox.drain()
    assert len(rec.sent) == 1 and rec.sent[0].text.endswith("m29")
    assert (rec.sent_at[0] - start).total_seconds() >= 60


async def test_a_rolling_post_grows_while_queued_and_restarts_with_only_the_new_part(tmp_path) -> None:
    clock = FakeClock()
    outbox, store = make_outbox(f"sqlite:///{tmp_path / 'o.db'}", clock)
    rec = Recorder(outbox, clock)
    said: list[str] = []

    def add(item: str, previous: int | None) -> int:
        grown = [*said, item]
        posted = outbox.roll(previous, lambda grow: (" ".join(grown if grow else [item]), ()), group_id="g")
        said[:] = grown if posted == previous else [item]
        return posted

    first = add("a", None)
    assert add("b", first) == first and outbox.pending() == 1  # replaced in place, not queued again
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["a b"]
    second = add("c", first)  # the first post left: a new one says only what is new
    assert second != first and outbox.stats.replaced == 1
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["a b", "c"]
