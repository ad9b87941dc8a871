"""The after-sales figures, computed by hand on a small set, and where leaders see them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from handlers.aftersales.figures import aftersales_figures, median, nearest_rank
from handlers.aftersales.store import Ticket
from handlers.monitoring.daily import send_daily_summaries
from handlers.monitoring.report import build_report
from tests.aftersales.kit import G1, sale

T0 = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def ticket(
    n: int, member: str, reply: timedelta | None, resolve: timedelta | None, rating: int | None = None
) -> Ticket:
    return Ticket(
        id=n,
        campaign_id="t1",
        group_id=G1,
        member_id=member,
        member_name=member,
        text="",
        lines=(),
        lines_cents=0,
        opened_at=T0,
        reply_due_at=T0 + 2 * H,
        resolve_due_at=T0 + 24 * H,
        first_reply_at=T0 + reply if reply is not None else None,
        resolved_at=T0 + resolve if resolve is not None else None,
        rating=rating,
    )


def test_figures_by_hand() -> None:
    tickets = [
        ticket(1, "a", 10 * M, 1 * H, rating=5),
        ticket(2, "b", 30 * M, 30 * H, rating=2),  # resolved late
        ticket(3, "c", 3 * H, 5 * H, rating=4),  # replied late
        ticket(4, "a", 60 * M, None),  # a's second ticket, open
        ticket(5, "d", None, None),  # never answered
    ]
    f = aftersales_figures(tickets, buyers=40)
    assert (f.opened, f.open_now, f.replied) == (5, 2, 4)
    # replies: 10, 30, 60, 180 min -> median (30 + 60) / 2 = 45 min; p90 nearest rank: ceil(3.6) = 4th = 180 min
    assert f.median_reply == 45 * M and f.p90_reply == 3 * H
    # within 2 h: tickets 1, 2, 4 of 5 = 60.0%; resolved within 24 h: ticket 1 and 3 of 5 = 40.0%
    assert (f.replied_in_time_pct, f.resolved_in_time_pct) == (60.0, 40.0)
    # ratings 5, 2, 4 -> 3.67
    assert (f.rated, f.average_rating) == (3, 3.67)
    # members with a ticket or a rating <= 2: a, b, c, d -> 4 / 40 = 10% (over the 5% target)
    assert (f.negative_members, f.buyers, f.negative_rate, f.over_target) == (4, 40, 0.1, True)
    # with `now`, tickets still inside a window and unanswered are left out of that percentage
    early = aftersales_figures([ticket(1, "a", 10 * M, 1 * H), ticket(2, "b", None, None)], 100, now=T0 + H)
    assert (early.replied_in_time_pct, early.resolved_in_time_pct) == (100.0, 100.0)
    assert early.negative_rate == 0.02 and not early.over_target


def test_empty_and_percentiles() -> None:
    f = aftersales_figures([], buyers=0)
    assert (
        f.opened,
        f.median_reply,
        f.p90_reply,
        f.replied_in_time_pct,
        f.average_rating,
        f.negative_rate,
    ) == (
        0,
        None,
        None,
        None,
        None,
        None,
    )
    values = [timedelta(minutes=m) for m in (5, 1, 3)]
    assert (
        median(values) == 3 * M and nearest_rank(values, 0.9) == 5 * M and nearest_rank(values, 0.5) == 3 * M
    )


async def test_figures_in_stats_report_and_daily_summary(tmp_path, clock) -> None:
    s = await sale(tmp_path, clock, buyers=("alice", "bob", "carol", "dave"))
    await s.say("/stats", "lily")
    assert "售后" not in s.privately("lily")[-1]  # no ticket, sale open: nothing to show
    await s.say("我的草莓有两个坏果", "alice")
    clock.advance(30 * 60)
    await s.private("/ticket 1 退款 5", "lily")
    await s.private("1", "alice")
    await s.say("/stats", "lily")
    stats = s.privately("lily")[-1]
    assert "售后：工单 1 个" in stats and "差评率 1/4 = 25.0%" in stats and "平均评分 1" in stats
    assert "坏果" not in stats
    report = build_report(
        s.services.repo.engine, "t1", [G1], {G1: G1}, clock.now() - timedelta(days=1), clock.now()
    )
    assert report.aftersales is not None and report.aftersales.opened == 1
    assert '"negative_rate_pct": 25.0' in report.to_json() and "差评率" in report.aftersales_text()
    s.transport.clear()
    send_daily_summaries(s.services)
    await s.services.outbox.drain()
    daily = s.privately("lily")[-1]
    assert "测试鲜果团" in daily and "售后：工单 1 个" in daily


def test_an_escalated_ticket_counts_as_a_missed_promise_before_now_reaches_it() -> None:
    late = replace(ticket(1, "a", None, None), escalated_reply_at=T0 + 2 * H)
    f = aftersales_figures([late, ticket(2, "b", 10 * M, 1 * H)], buyers=10, now=T0 + H)
    assert (f.replied_in_time_pct, f.resolved_in_time_pct) == (50.0, 100.0)
