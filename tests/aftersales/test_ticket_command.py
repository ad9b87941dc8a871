"""/ticket: rights by id per ticket, refunds and resends recorded once, the member's rating."""

from __future__ import annotations

from handlers.fulfilment.adjustments import adjustments_of
from handlers.fulfilment.dues import member_due
from tests.aftersales.kit import G1, G2, AfterSales, sale


async def opened(tmp_path, clock) -> AfterSales:
    s = await sale(tmp_path, clock, buyers=("alice", "bob"))
    await s.say("我的草莓有两个坏果", "alice")
    s.transport.clear()
    return s


async def test_refund_records_the_adjustment_resolves_and_asks_for_a_rating(tmp_path, clock) -> None:
    s = await opened(tmp_path, clock)
    campaign = s.services.campaigns.campaigns["t1"].campaign
    before = member_due(s.services, campaign, "alice")
    assert before is not None
    clock.advance(600)
    at = clock.now()
    await s.private("/ticket 1 退款 ¥9.90", "lily")
    ticket = s.ticket()
    assert (ticket.resolution, ticket.refund_cents, ticket.resolved_by) == ("refund", 990, "lily")
    assert ticket.first_reply_at == ticket.resolved_at == at
    assert adjustments_of(s.services.repo.engine, "t1") == {"alice": (990, 0)}
    after = member_due(s.services, campaign, "alice")
    assert after is not None and after.net_cents == before.net_cents - 990
    [told] = s.privately("alice")
    assert "#1" in told and "¥9.90" in told and "1-5" in told
    assert "已记录" in s.privately("lily")[-1]
    # a second refund on the same ticket records nothing more
    await s.private("/ticket 1 退款 9.9", "lily")
    assert adjustments_of(s.services.repo.engine, "t1") == {"alice": (990, 0)}
    assert "处理过" in s.privately("lily")[-1]
    assert not s.group_posts()


async def test_refund_in_the_group_answers_privately(tmp_path, clock) -> None:
    s = await opened(tmp_path, clock)
    await s.say("/ticket 1 退款 9.9", "lily")
    assert s.ticket().refund_cents == 990
    assert not s.group_posts()
    assert "已记录" in s.privately("lily")[-1]


async def test_ticket_refused_to_other_groups_leaders_and_members(tmp_path, clock) -> None:
    s = await opened(tmp_path, clock)
    await s.private("/ticket 1 退款 5", "mike")  # leads 团购二群, not the ticket's group
    assert "不属于您带的群" in s.privately("mike")[-1]
    await s.say("/ticket 1 退款 5", "mike", group=G2)
    await s.private("/ticket 1 退款 5", "bob")  # a member
    await s.say("/ticket 1 退款 5", "bob", group=G1)
    ticket = s.ticket()
    assert ticket.resolved_at is None and ticket.first_reply_at is None
    assert adjustments_of(s.services.repo.engine, "t1") == {}
    await s.private("/ticket 1 退款 5", "admin")  # admins may
    assert s.ticket().refund_cents == 500


async def test_resend_defaults_to_the_order_lines_value(tmp_path, clock) -> None:
    s = await opened(tmp_path, clock)
    await s.private("/ticket 1 补发", "lily")
    ticket = s.ticket()
    assert (ticket.resolution, ticket.resend_cents) == ("resend", 2000)
    assert adjustments_of(s.services.repo.engine, "t1") == {"alice": (0, 2000)}


async def test_resolved_with_a_note_reply_list_and_usage(tmp_path, clock) -> None:
    s = await opened(tmp_path, clock)
    await s.private("/ticket list", "lily")
    assert "#1" in s.privately("lily")[-1] and "未回复" in s.privately("lily")[-1]
    await s.private("/ticket 1 回复 已联系供货商，马上处理", "lily")
    assert "团长回复：已联系供货商，马上处理" in s.privately("alice")[-1]
    assert s.ticket().first_reply_at is not None and s.ticket().resolved_at is None
    await s.private("/ticket 1 已解决 已上门换货", "lily")
    assert (s.ticket().resolution, s.ticket().note) == ("resolved", "已上门换货")
    assert adjustments_of(s.services.repo.engine, "t1") == {}
    await s.private("/ticket list", "lily")
    assert "没有待处理" in s.privately("lily")[-1]
    for bad in ("/ticket", "/ticket 1 退款", "/ticket 1 退款 abc", "/ticket x", "/ticket 1 飞走"):
        await s.private(bad, "lily")
        assert "/ticket" in s.privately("lily")[-1]
    await s.private("/ticket 1 退款 30", "admin")  # more than the order: refused
    assert s.ticket().refund_cents == 0


async def test_rating_is_recorded_once(tmp_path, clock) -> None:
    s = await opened(tmp_path, clock)
    await s.private("3", "alice")  # nothing resolved yet: just a digit
    assert s.ticket().rating is None
    await s.private("/ticket 1 退款 5", "lily")
    clock.advance(60)
    at = clock.now()
    await s.private("2", "alice")
    ticket = s.ticket()
    assert (ticket.rating, ticket.rated_at) == (2, at)
    assert "2 分" in s.privately("alice")[-1]
    assert "评分是 2 分" in s.privately("lily")[-1]  # a low rating is passed on
    sent = len(s.transport.sent)
    clock.advance(60)
    await s.private("5", "alice")
    assert s.ticket().rating == 2 and len(s.transport.sent) == sent
    await s.private("4", "bob")  # no ticket of his
    assert s.ticket().rating == 2


async def test_awaiting_ratings_survive_a_restart(tmp_path, clock) -> None:
    from handlers.aftersales.feature import setup
    from handlers.aftersales.matcher import AftersalesState, state_of

    s = await opened(tmp_path, clock)
    await s.private("/ticket 1 已解决", "lily")
    s.services.provide(AftersalesState())  # a fresh process's memory
    setup(s.services, None)  # type: ignore[arg-type]
    assert set(state_of(s.services).awaiting) == {"alice"}
    await s.private("5", "alice")
    assert s.ticket().rating == 5
    assert "alice" not in state_of(s.services).awaiting
