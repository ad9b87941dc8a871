"""Q&A in the group: answers, silence, cooldowns, the unanswered log, /faq add."""

from __future__ import annotations

from pathlib import Path

from handlers.faq.chat import GROUP_COOLDOWN, MEMBER_COOLDOWN
from tests.engagement.support import GROUP, say, with_campaign


def answers(transport) -> list[str]:
    return [m.text for m in transport.sent if m.group_id == GROUP and m.kind == "faq"]


async def test_campaign_faq_answers_a_paraphrased_question(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "请问明天几点可以去取货？", "alice"))
    [answer] = answers(transport)
    assert "东门菜鸟驿站" in answer
    assert transport.sent[-1].mentions == ("alice",)


async def test_group_wide_faq_works_without_a_campaign(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "可以开发票吗，公司要报销", "alice"))
    [answer] = answers(transport)
    assert "电子普通发票" in answer


async def test_chatter_gets_silence(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    for text in [
        "草莓好甜，孩子超爱吃",
        "今天自提点人好多",
        "我已经付款了",
        "收到",
        "哈哈哈哈",
        "送货的小哥态度很好",
    ]:
        await transport.inject(say(clock, text, "alice"))
        clock.advance(61)
    assert transport.texts(GROUP) == []


async def test_same_answer_not_twice_in_a_minute(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "自提点在哪里呀", "alice"))
    await transport.inject(say(clock, "在哪里提货？", "bob"))  # same answer, same minute: already above
    assert len(answers(transport)) == 1
    clock.advance(GROUP_COOLDOWN.total_seconds() + 1)
    await transport.inject(say(clock, "在哪里提货？", "bob"))
    assert len(answers(transport)) == 2


async def test_one_member_is_not_answered_in_a_flood(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "自提点在哪里呀", "alice"))
    await transport.inject(say(clock, "可以开发票吗？", "alice"))
    assert len(answers(transport)) == 1
    clock.advance(MEMBER_COOLDOWN.total_seconds() + 1)
    await transport.inject(say(clock, "可以开发票吗？", "alice"))
    assert len(answers(transport)) == 2


async def test_unanswered_questions_to_the_bot_are_logged_for_leaders(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(
        say(clock, "@团购小助手 榴莲什么时候上", "alice", name="爱丽丝", mentions_bot=True)
    )
    await transport.inject(say(clock, "有人知道明天停水吗？", "bob"))
    await transport.inject(say(clock, "今天好热", "carol"))  # not a question to anyone: not logged
    assert transport.texts(GROUP) == []
    await transport.inject(say(clock, "/faq unanswered", "lily"))
    [report] = transport.private_texts("lily")  # members' words go to the leader privately (issue 13.4)
    assert "榴莲什么时候上" in report and "爱丽丝" in report and "明天停水吗" in report
    assert "今天好热" not in report and "@团购小助手" not in report


async def test_leader_adds_an_entry_and_it_is_answered(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/faq add 周日下雨还能提货吗 | 照常提货，驿站有雨棚～", "lily"))
    assert "已添加常见问题" in transport.texts(GROUP)[-1]
    await transport.inject(say(clock, "周日下雨还可以提货吗？", "alice"))
    assert answers(transport) == ["💡 照常提货，驿站有雨棚～"]
    await transport.inject(say(clock, "/faq list", "lily"))
    assert "团长添加 1 条" in transport.texts(GROUP)[-1]
    await transport.inject(say(clock, "/faq del 1", "lily"))
    assert "已删除" in transport.texts(GROUP)[-1]
    clock.advance(120)
    await transport.inject(say(clock, "周日下雨还可以提货吗？", "bob"))
    assert len(answers(transport)) == 1


async def test_faq_commands_are_for_leaders_and_checked(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/faq add 问 | 答", "alice"))
    assert "已添加" not in transport.texts(GROUP)[-1]
    for bad in ["/faq", "/faq add 没有分隔符", "/faq add | 只有答案", "/faq del x"]:
        await transport.inject(say(clock, bad, "lily"))
        assert "用法" in transport.texts(GROUP)[-1]


async def test_member_text_in_questions_and_answers_stays_literal(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(
        say(clock, "/faq add {{ 7*7 }}是什么意思 | 答案是 {{ 7*7 }} 不是49以外的数", "lily")
    )
    assert "{{ 7*7 }}" in transport.texts(GROUP)[-1]
    clock.advance(60)
    await transport.inject(say(clock, "{{ 7*7 }}是什么意思？", "alice"))
    assert answers(transport) == ["💡 答案是 {{ 7*7 }} 不是49以外的数"]


async def test_a_faq_file_beside_the_config_replaces_the_shipped_one(make_app, clock, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "faq.yaml").write_text(
        "- question: 群主是谁？\n  keywords: [群主]\n  answer: 群主是莉莉。\n", encoding="utf-8"
    )
    app, transport = make_app()
    await transport.inject(say(clock, "群主是谁啊？", "alice"))
    await transport.inject(say(clock, "可以开发票吗？", "bob"))
    assert answers(transport) == ["💡 群主是莉莉。"]


async def test_unanswered_questions_go_privately_to_the_leader_not_to_the_group(make_app, clock) -> None:
    """Issue 13.4: members' words (with a phone number and an address) are never listed in the group."""
    app, transport = make_app()
    await transport.inject(
        say(clock, "@团购小助手 我电话13812345678，住3栋502，能送上门吗", "alice", mentions_bot=True)
    )
    await transport.inject(say(clock, "/faq unanswered", "lily"))
    assert not any("13812345678" in t or "3栋502" in t for t in transport.texts(GROUP))
    assert not any("能送上门吗" in t for t in transport.texts(GROUP))
    [report] = transport.private_texts("lily")
    assert "能送上门吗" in report and "团购一群" in report


async def test_a_leaders_entry_wins_over_the_shipped_answer_in_that_group(make_app, clock) -> None:
    """Issue 13.11: `/faq add 能开发票吗 | …` is what that group hears, not data/faq.yaml's answer."""
    app, transport = make_app()
    await transport.inject(say(clock, "/faq add 能开发票吗 | 本群不开发票，敬请谅解。", "lily"))
    await transport.inject(say(clock, "能开发票吗？", "alice"))
    clock.advance(61)
    await transport.inject(say(clock, "可以开发票吗，公司要报销", "bob"))
    assert answers(transport) == ["💡 本群不开发票，敬请谅解。"] * 2
    # another group still hears the shipped answer
    await transport.inject(say(clock, "能开发票吗？", "carol", group="团购二群"))
    [other] = [m.text for m in transport.sent if m.group_id == "团购二群" and m.kind == "faq"]
    assert "电子普通发票" in other


async def test_a_leaders_entry_on_a_related_topic_does_not_hide_the_shipped_answer(
    make_app, clock, tmp_path
) -> None:
    """Only the same question is replaced: a rain-day pickup answer must not hide where to pick up."""
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "/faq add 周日下雨还能提货吗 | 照常提货，驿站有雨棚～", "lily"))
    await transport.inject(say(clock, "请问在哪里提货？", "alice"))
    [answer] = answers(transport)
    assert "东门菜鸟驿站" in answer
