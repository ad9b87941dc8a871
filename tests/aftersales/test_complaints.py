"""Complaints: a buyer's report opens a ticket handled privately; questions stay with the FAQ."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.aftersales.escalation import reply_job_id, resolve_job_id
from handlers.aftersales.keywords import complaint_keyword, keywords_of
from tests.aftersales.kit import G1, sale

COMPLAINT = "我的草莓有两个坏果"


@pytest.mark.parametrize(
    "text",
    [
        "我的草莓有两个坏果",
        "少发了一盒橙子",
        "收到的苹果压坏了",
        "草莓不新鲜",
        "破损了能退吗",
        "我的草莓坏了怎么办？",
        "骗子",
    ],
)
def test_reports_are_complaints(text: str) -> None:
    assert complaint_keyword(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "坏果怎么办",
        "可以退款吗",
        "有坏果吗",
        "如果收到坏果怎么办",  # a hypothetical, even with 收到
        "如有坏果请私信团长",
        "我想问问坏果怎么办",
        "今天阳光灿烂",
        "一个坏果都没有，很新鲜",
        "没有坏果",
        "坏果包赔，放心买",
        "你好",
    ],
)
def test_questions_praise_and_chatter_are_not(text: str) -> None:
    assert complaint_keyword(text) is None


def test_campaign_keywords_add_to_the_defaults() -> None:
    words = keywords_of(["缺斤少两"])
    assert "坏果" in words and "缺斤少两" in words
    assert complaint_keyword("这次缺斤少两", words) == "缺斤少两"
    assert complaint_keyword("这次缺斤少两") is None


async def test_a_buyers_complaint_opens_a_ticket_privately(tmp_path, clock) -> None:
    s = await sale(tmp_path, clock)
    await s.say(COMPLAINT, "alice")
    [ticket] = s.tickets()
    assert (ticket.id, ticket.member_id, ticket.group_id, ticket.campaign_id) == (1, "alice", G1, "t1")
    assert ticket.text == COMPLAINT and ticket.lines == (("A1", "丹东草莓", 2, 2000),)
    assert ticket.reply_due_at == ticket.opened_at + timedelta(hours=2)
    # the member: a private acknowledgement with the ticket number
    [ack] = s.privately("alice")
    assert "#1" in ack
    # the leader: a private alert with the member, the order lines, the text and the usage
    [alert] = s.privately("lily")
    assert "#1" in alert and "alice" in alert and "丹东草莓" in alert and COMPLAINT in alert
    assert "/ticket 1 退款" in alert
    assert not s.privately("mike")  # leads the other group
    # the group: a neutral word at most, never the complaint
    posts = s.group_posts()
    assert posts and all(COMPLAINT not in p and "坏果" not in p for p in posts)
    assert "已私信处理" in posts[-1]
    # both escalations are timed at the promises
    scheduler = s.services.campaigns.scheduler
    assert scheduler is not None
    reply, resolve = scheduler.get_job(reply_job_id(1)), scheduler.get_job(resolve_job_id(1))
    assert reply is not None and reply.trigger.run_date == ticket.opened_at + timedelta(hours=2)
    assert resolve is not None and resolve.trigger.run_date == ticket.opened_at + timedelta(hours=24)


async def test_a_private_complaint_and_a_follow_up_make_one_ticket(tmp_path, clock) -> None:
    s = await sale(tmp_path, clock)
    await s.private("少发了一盒草莓", "alice")
    await s.say("这次缺斤少两", "alice")  # the campaign's own keyword; added to the open ticket
    [ticket] = s.tickets()
    assert ticket.text == "少发了一盒草莓\n这次缺斤少两"
    assert len(s.privately("lily")) == 2 and "补充" in s.privately("lily")[1]
    assert all("缺斤少两" not in p for p in s.group_posts())


async def test_questions_still_get_the_faq_answer_and_no_ticket(tmp_path, clock) -> None:
    s = await sale(tmp_path, clock, buyers=("alice",))
    await s.say("坏果怎么办", "alice")  # a buyer's general question
    assert "48小时内拍照" in s.transport.texts(G1)[-1]
    await s.say("我的草莓有几个烂了怎么办", "bob")  # a report's words from someone who bought nothing
    assert "48小时内拍照" in s.transport.texts(G1)[-1]
    assert not s.tickets()
    assert not s.privately("lily")


async def test_leaders_words_are_no_complaint(tmp_path, clock) -> None:
    s = await sale(tmp_path, clock, buyers=("lily",))
    await s.say("收到坏果的私信我，少发的也说", "lily")
    assert not s.tickets()
