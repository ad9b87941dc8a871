"""Escalation: at 2 h without a leader's reply and at 24 h unresolved, privately to the admins, once."""

from __future__ import annotations

from datetime import timedelta

from handlers.aftersales.jobs import job_ticket_reply, job_ticket_resolve
from schedules import runtime
from tests.aftersales.kit import AfterSales, sale

SECOND = timedelta(seconds=1)


async def run(s: AfterSales, job, ticket_id: int) -> None:
    """The job body as the scheduler runs it: with the app installed for `runtime.current`."""
    runtime.install(s.app, s.services, s.services.campaigns)
    try:
        await job(ticket_id)
    finally:
        runtime.uninstall()
    await s.services.outbox.drain()


def escalations(s: AfterSales) -> list[str]:
    return [m.text for m in s.transport.sent if m.member_id == "admin" and "售后工单" in m.text]


async def two_tickets(tmp_path, clock) -> AfterSales:
    s = await sale(tmp_path, clock, buyers=("alice", "bob"))
    await s.say("我的草莓有两个坏果", "alice")
    await s.private("少发了一盒草莓", "bob")
    return s


async def test_first_reply_escalation_fires_at_two_hours_once(tmp_path, clock) -> None:
    s = await two_tickets(tmp_path, clock)
    first = s.ticket(1)
    clock.set(first.opened_at + timedelta(hours=2) - SECOND)
    await run(s, job_ticket_reply, 1)
    assert not escalations(s) and s.ticket(1).escalated_reply_at is None
    clock.set(first.opened_at + timedelta(hours=2))
    await run(s, job_ticket_reply, 1)
    [sent] = escalations(s)
    assert "#1" in sent and "无团长回复" in sent and "我的草莓有两个坏果" in sent and "丹东草莓" in sent
    assert s.ticket(1).escalated_reply_at == first.opened_at + timedelta(hours=2)
    # a rerun (a restart, a duplicate job) sends nothing
    clock.advance(60)
    await run(s, job_ticket_reply, 1)
    assert len(escalations(s)) == 1
    assert all("坏果" not in m.text for m in s.transport.sent if m.group_id and "已私信" not in m.text)


async def test_no_escalation_when_a_leader_replied_in_time(tmp_path, clock) -> None:
    s = await two_tickets(tmp_path, clock)
    second = s.ticket(2)
    clock.set(second.opened_at + timedelta(minutes=90))
    await s.private("/ticket 2 回复 马上补发", "lily")
    clock.set(second.opened_at + timedelta(hours=2))
    await run(s, job_ticket_reply, 2)
    assert not escalations(s) and s.ticket(2).escalated_reply_at is None


async def test_resolution_escalation_at_24_hours_unless_resolved(tmp_path, clock) -> None:
    s = await two_tickets(tmp_path, clock)
    first, second = s.ticket(1), s.ticket(2)
    await s.private("/ticket 1 回复 在查", "lily")  # replied, not resolved
    clock.set(second.opened_at + timedelta(hours=3))
    await s.private("/ticket 2 补发", "lily")  # resolved
    clock.set(first.opened_at + timedelta(hours=24) - SECOND)
    await run(s, job_ticket_resolve, 1)
    assert not escalations(s)
    clock.set(second.opened_at + timedelta(hours=24))
    await run(s, job_ticket_resolve, 1)
    await run(s, job_ticket_resolve, 2)
    [sent] = escalations(s)
    assert "#1" in sent and "仍未解决" in sent
    await run(s, job_ticket_resolve, 1)  # a rerun
    assert len(escalations(s)) == 1
    assert s.ticket(2).escalated_resolve_at is None


async def test_both_escalations_for_a_ticket_left_alone(tmp_path, clock) -> None:
    s = await two_tickets(tmp_path, clock)
    opened = s.ticket(2).opened_at
    clock.set(opened + timedelta(hours=2))
    await run(s, job_ticket_reply, 2)
    clock.set(opened + timedelta(hours=24))
    await run(s, job_ticket_resolve, 2)
    texts = escalations(s)
    assert len(texts) == 2 and "无团长回复" in texts[0] and "仍未解决" in texts[1]
