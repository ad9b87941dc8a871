"""Which message goes next: delayed posts never hold back due ones (issue 12 item 4), alerts to one
person coalesce and never starve group posts (item 8), stale replies can be cancelled."""

from __future__ import annotations

import itertools

from bot.vocab import Priority
from tests.bot.test_outbox import Recorder, assert_within_limits, make_outbox
from tests.fakes import FakeClock


async def test_a_post_not_yet_due_does_not_delay_a_due_one_to_the_same_group(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    start = clock.now()
    outbox.enqueue("库存快报", group_id="g", priority=Priority.CAMPAIGN, kind="stock", delay=60)
    outbox.enqueue("/help 回复", group_id="g", priority=Priority.COMMAND)
    outbox.enqueue("接龙", group_id="g", priority=Priority.ORDER)
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["/help 回复", "接龙", "库存快报"]
    waited = [(at - start).total_seconds() for at in rec.sent_at]
    assert waited[0] == 0 and waited[1] <= 3.0  # the group interval, not the delayed post
    assert waited[2] >= 60
    assert_within_limits(rec, group_interval=3.0, per_minute=30)


async def test_due_posts_keep_priority_order_when_a_delayed_post_becomes_due(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    outbox.enqueue("chatter", group_id="g", priority=Priority.CHATTER)
    outbox.enqueue("delayed campaign", group_id="g", priority=Priority.CAMPAIGN, delay=5)
    for i in range(3):
        outbox.enqueue(f"reply {i}", group_id="g", priority=Priority.DEFAULT)
    await outbox.drain()
    # reply 0 at 0 s, reply 1 at 3 s; at 6 s the delayed post is due and its priority wins.
    assert [m.text for m in rec.sent] == ["reply 0", "reply 1", "delayed campaign", "reply 2", "chatter"]


def _alert(group: int) -> str:
    return (
        f"⚠️【鲜果团·{group}群】库存剩余（A1 草莓）为 15.0%，低于 20.0%。\n建议：考虑补货（/stock A1 +50）。"
    )


async def test_360_alerts_to_3_leaders_coalesce_and_do_not_starve_group_posts(db_url) -> None:
    clock = FakeClock()
    outbox, store = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    start = clock.now()
    leaders = ["lily", "mike", "nina"]
    for group in range(120):
        for leader in leaders:
            outbox.enqueue(_alert(group), member_id=leader, priority=Priority.ALERT, kind="alert")
    groups = [f"g{i}" for i in range(30)]
    for group_id in groups:
        outbox.enqueue(f"开团啦 {group_id}", group_id=group_id, priority=Priority.CAMPAIGN, kind="open")
    await outbox.drain()
    assert_within_limits(rec, group_interval=3.0, per_minute=30)
    for leader in leaders:
        messages = [m.text for m in rec.sent if m.member_id == leader]
        assert 1 <= len(messages) <= 6, len(messages)
        lines = "\n".join(messages).splitlines()
        for group in range(120):  # every alert reached every leader, each once
            assert lines.count(_alert(group).splitlines()[0]) == 1
        assert lines.count(_alert(0).splitlines()[1]) <= len(messages)  # identical lines deduplicated
        assert all(len(text) <= outbox.coalesce_max_chars for text in messages)
    opened = [at for m, at in zip(rec.sent, rec.sent_at, strict=True) if m.group_id]
    assert len(opened) == 30
    # 30 group posts alone take a minute at 30/min; private alerts may take at most every other slot.
    assert (opened[-1] - start).total_seconds() <= 2 * 60 + 10
    assert len(store.all_rows()) < 60  # merged in the queue, not only on the wire


async def test_private_alerts_take_at_most_every_other_slot_while_group_posts_wait(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock, group_interval_seconds=0, switch_pause_seconds=(0, 0))
    rec = Recorder(outbox, clock)
    for i in range(20):
        outbox.enqueue(f"alert {i}", member_id=f"m{i}", priority=Priority.ALERT, kind="alert")
        outbox.enqueue(f"post {i}", group_id=f"g{i}", priority=Priority.CAMPAIGN)
    await outbox.drain()
    kinds = ["group" if m.group_id else "private" for m in rec.sent]
    last_group = len(kinds) - 1 - kinds[::-1].index("group")
    while_waiting = kinds[: last_group + 1]
    assert not any(a == b == "private" for a, b in itertools.pairwise(while_waiting)), kinds
    assert [m.text for m in rec.sent if m.group_id] == [f"post {i}" for i in range(20)]


async def test_coalesced_alerts_stay_bounded_and_merge_into_a_queued_one_after_restart(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock)
    outbox.enqueue("a", member_id="lily", priority=Priority.ALERT, kind="alert")
    first = outbox.enqueue("b", member_id="lily", priority=Priority.ALERT, kind="alert")
    assert outbox.pending() == 1
    outbox2, _ = make_outbox(db_url, clock)  # a restart keeps merging into the queued message
    assert outbox2.enqueue("a", member_id="lily", priority=Priority.ALERT, kind="alert") == first
    assert outbox2.enqueue("c", member_id="lily", priority=Priority.ALERT, kind="alert") == first
    outbox2.enqueue("not an alert", member_id="lily")  # a reply is never merged
    rec = Recorder(outbox2, clock)
    await outbox2.drain()
    assert [m.text for m in rec.sent] == ["a\nb\nc", "not an alert"]


async def test_a_long_alert_run_starts_a_new_message_at_the_bound(db_url) -> None:
    clock = FakeClock()
    outbox, _ = make_outbox(db_url, clock)
    line = "x" * 90
    for i in range(50):
        outbox.enqueue(f"{i:02d}{line}", member_id="lily", priority=Priority.ALERT, kind="alert")
    rec = Recorder(outbox, clock)
    await outbox.drain()
    assert all(len(m.text) <= outbox.coalesce_max_chars for m in rec.sent)
    assert 1 < len(rec.sent) <= 50 * 92 // outbox.coalesce_max_chars + 1
    assert "\n".join(m.text for m in rec.sent).splitlines() == [f"{i:02d}{line}" for i in range(50)]


async def test_cancel_queued_drops_stale_replies_of_one_kind_in_one_group(db_url) -> None:
    clock = FakeClock()
    outbox, store = make_outbox(db_url, clock)
    rec = Recorder(outbox, clock)
    outbox.enqueue("first", group_id="g")
    await outbox.pump()  # sent: not cancellable
    for i in range(3):
        outbox.enqueue(f"还没开团哦 {i}", group_id="g", kind="not-open")
    outbox.enqueue("还没开团哦 h", group_id="h", kind="not-open")
    outbox.enqueue("另一种回复", group_id="g", kind="reply")
    assert outbox.cancel_queued(group_id="g", kind="not-open") == 3
    assert outbox.cancel_queued(group_id="g", kind="not-open") == 0
    assert outbox.pending() == 2
    outbox2, _ = make_outbox(db_url, clock)  # a restart does not bring them back
    assert outbox2.pending() == 2
    await outbox.drain()
    assert sorted(m.text for m in rec.sent) == sorted(["first", "还没开团哦 h", "另一种回复"])
    statuses = sorted(r.status for r in store.all_rows())
    assert statuses == ["cancelled"] * 3 + ["sent"] * 3
