"""The outbox's choice of the next message: the same answers as the old full scan, without the scan.

`reference_pick` is the chooser as it was before the per-target index (one pass over
every queued item, `bot/outbox_pick.py` up to issue 14), kept here as the oracle.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import OutboxSettings
from bot.outbox_pacing import OutboxStats, Pacing
from bot.outbox_pick import Chooser, Queued
from bot.outbox_queue import OutboxQueue, target_of
from bot.vocab import Priority
from tests.bot.test_outbox import Recorder, make_outbox
from tests.fakes import FakeClock

PRIORITIES = [int(p) for p in (Priority.CAMPAIGN, Priority.COMMAND, Priority.ORDER, Priority.DEFAULT)]


def reference_pick(
    items: Iterable[Queued],
    now: datetime,
    target_ready_at: Callable[[str, datetime], datetime],
    *,
    private_turn_over: bool,
) -> tuple[Queued | None, datetime | None]:
    """The old `outbox_pick.pick`, verbatim: every item looked at on every pass."""
    heads: dict[str, Queued] = {}
    due_at: dict[str, datetime] = {}
    for item in items:
        not_before = item.not_before
        if not_before is not None and not_before > now:
            soonest = due_at.get(item.target)
            if soonest is None or not_before < soonest:
                due_at[item.target] = not_before
            continue
        head = heads.get(item.target)
        if head is None or (
            item.priority < head.priority or (item.priority == head.priority and item.id < head.id)
        ):
            heads[item.target] = item
    best: Queued | None = None
    best_group: Queued | None = None
    earliest: datetime | None = None
    for target, item in heads.items():
        ready = target_ready_at(target, now)
        if ready > now:
            earliest = ready if earliest is None else min(earliest, ready)
            continue
        if best is None or item < best:
            best = item
        if item.group_id and (best_group is None or item < best_group):
            best_group = item
    for target, not_before in due_at.items():
        if target not in heads:
            ready = max(not_before, target_ready_at(target, now))
            earliest = ready if earliest is None else min(earliest, ready)
    if best is not None and not best.group_id and best_group is not None and private_turn_over:
        best = best_group
    return best, earliest


class Bench:
    """A queue, its pacing and the chooser over both: the real objects, no database, no network."""

    def __init__(self, seed: int, **settings: object) -> None:
        self.rng = random.Random(seed)
        self.now = datetime(2026, 12, 5, 12, 0, tzinfo=ZoneInfo("UTC"))
        self.queue = OutboxQueue()
        self.pacing = Pacing(
            OutboxSettings(**settings),  # type: ignore[arg-type]
            ZoneInfo("Asia/Shanghai"),
            random.Random(seed),
            lambda since: 0,
            OutboxStats(),
        )
        self.chooser = Chooser(self.queue, self.pacing)
        self.next_id = 1

    def add(
        self, target_name: str, *, group: bool, delay: float | None = None, priority: int | None = None
    ) -> Queued:
        group_id, member_id = (target_name, "") if group else ("", target_name)
        item = Queued(
            priority=self.rng.choice(PRIORITIES) if priority is None else priority,
            id=self.next_id,
            target=target_of(group_id, member_id),
            group_id=group_id,
            member_id=member_id,
            text=f"m{self.next_id}",
            mentions=(),
            kind="reply",
            replace_key="",
            not_before=None if delay is None else self.now + timedelta(seconds=delay),
        )
        self.next_id += 1
        self.queue.add(item)
        return item

    def both(self, *, private_turn_over: bool) -> tuple[tuple[object, object], tuple[object, object]]:
        new = self.chooser.choose(self.now, private_turn_over=private_turn_over)
        old = reference_pick(
            self.queue, self.now, self.pacing.target_ready_at, private_turn_over=private_turn_over
        )
        return new, old

    def assert_same(self, step: object) -> Queued | None:
        for turn_over in (False, True):
            (item, earliest), (ref_item, ref_earliest) = self.both(private_turn_over=turn_over)
            assert item is ref_item, (step, turn_over, item, ref_item)
            if item is None:  # the time to look again is only given (and used) when nothing can go
                assert earliest == ref_earliest, (step, turn_over, earliest, ref_earliest)
        return item


def test_randomised_operations_choose_what_the_full_scan_chose() -> None:
    for seed in range(12):
        bench = Bench(seed, switch_pause_seconds=(0.0, 2.0), account_per_minute=1000)
        rng = bench.rng
        groups = [f"g{i}" for i in range(25)]
        members = [f"u{i}" for i in range(8)]
        for step in range(700):
            roll = rng.random()
            if roll < 0.40:
                group = rng.random() < 0.75
                name = rng.choice(groups if group else members)
                delay = rng.choice([None, None, None, -1.0, 0.0, 0.5, 2.0, 7.0, 30.0])
                bench.add(name, group=group, delay=delay)
            elif roll < 0.48 and bench.queue.items:
                bench.queue.remove(rng.choice(list(bench.queue.items.values())))
            elif roll < 0.54 and bench.queue.items:  # a retry's back-off, or a reconnect's reset
                item = rng.choice(list(bench.queue.items.values()))
                when = rng.choice([None, bench.now + timedelta(seconds=rng.choice([1, 2, 4, 60]))])
                bench.queue.set_not_before(item, when)
            elif roll < 0.80:
                chosen = bench.assert_same(step)
                if chosen is not None and rng.random() < 0.8:  # it left
                    bench.queue.remove(chosen)
                    bench.pacing.sent(chosen.target, bench.now)
            elif roll < 0.985:
                bench.now += timedelta(seconds=rng.choice([0.1, 0.5, 1.0, 1.5, 3.0, 3.5, 10.0]))
            elif roll < 0.995:
                bench.pacing.rate_limited(bench.now)  # slow mode: the interval doubles for a while
                bench.now += timedelta(seconds=rng.choice([0, 61, 700]))
            else:
                bench.now -= timedelta(seconds=rng.choice([1, 5]))  # a clock set back
            bench.assert_same(step)


def test_a_thousand_groups_and_twenty_thousand_items_choose_like_the_full_scan() -> None:
    bench = Bench(7, account_per_minute=1000)
    rng = bench.rng
    groups = [f"g{i}" for i in range(1000)]
    members = [f"u{i}" for i in range(50)]
    for _ in range(20_000):
        if rng.random() < 0.95:
            bench.add(rng.choice(groups), group=True, delay=rng.choice([None] * 8 + [5.0, 60.0]))
        else:
            bench.add(rng.choice(members), group=False, delay=None, priority=int(Priority.ALERT))
    for step in range(400):
        chosen = bench.assert_same(step)
        if chosen is not None:
            bench.queue.remove(chosen)
            bench.pacing.sent(chosen.target, bench.now)
        else:
            bench.now += timedelta(seconds=rng.choice([0.5, 1.0, 2.0, 4.0]))


def test_a_private_message_yields_to_a_sendable_group_post_only_when_its_turn_is_over() -> None:
    bench = Bench(1)
    alert = bench.add("lily", group=False, priority=int(Priority.ALERT))
    post = bench.add("g1", group=True, priority=int(Priority.CHATTER))
    assert bench.chooser.choose(bench.now, private_turn_over=False)[0] is alert
    assert bench.chooser.choose(bench.now, private_turn_over=True)[0] is post


def test_a_pass_looks_at_ready_targets_only_not_at_the_queued_items(tmp_path: Path) -> None:
    """1,000 groups, 20,000 replies: a wake-up while nothing can go costs a few steps, not 20,000."""
    bench = Bench(3, account_per_minute=1000)
    for i in range(20_000):
        bench.add(f"g{i % 1000}", group=True)
    bench.chooser.choose(bench.now, private_turn_over=False)  # the first pass files all 1,000 targets
    bench.chooser.examined = 0
    item, _ = bench.chooser.choose(bench.now, private_turn_over=False)
    assert item is not None and bench.chooser.examined <= 1000 + 5  # one head per ready target
    bench.queue.remove(item)
    bench.pacing.sent(item.target, bench.now)  # now the switch pause runs: no target may send
    for _ in range(50):  # as many wake-ups as enqueues
        bench.add(f"g{bench.rng.randrange(1000)}", group=True)
        bench.chooser.examined = 0
        nothing, earliest = bench.chooser.choose(bench.now, private_turn_over=False)
        assert nothing is None and earliest is not None and earliest > bench.now
        assert bench.chooser.examined <= 5


async def test_waking_the_send_loop_on_each_enqueue_does_not_rescan_the_queue(tmp_path: Path) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(f"sqlite:///{tmp_path / 't.db'}", clock, account_per_minute=1000)
    rec = Recorder(outbox, clock)
    for i in range(20_000):
        outbox.enqueue(f"reply {i}", group_id=f"g{i % 1000}")
    assert await outbox.pump() is not None  # writes the rows, sends one, then the switch pause holds
    assert len(rec.sent) == 1
    for i in range(20):
        outbox.enqueue(f"late {i}", group_id=f"g{i}")
        outbox.chooser.examined = 0
        delay = await outbox.pump()
        assert delay is not None and len(rec.sent) == 1
        assert outbox.chooser.examined <= 5
