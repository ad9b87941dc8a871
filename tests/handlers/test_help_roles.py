"""/help for commands the sender may not use, and /leader add's member ids (issues 13.14, 12.8)."""

from __future__ import annotations

import pytest

from tests.engagement.support import GROUP, say
from tests.factories import private_message


async def test_help_for_a_leader_command_tells_a_member_it_is_for_leaders(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/help stock", "alice"))
    [reply] = transport.texts(GROUP)
    assert "没有 /stock" not in reply
    assert "/stock" in reply and "团长" in reply


async def test_help_for_an_admin_command_tells_a_leader_it_is_for_admins(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/help leader", "lily"))
    [reply] = transport.texts(GROUP)
    assert "/leader" in reply and "管理员" in reply and "没有" not in reply


async def test_help_for_a_leader_command_in_private_chat(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(private_message("/help stock", "alice", at=clock.now()))
    [reply] = transport.private_texts("alice")
    assert "团长" in reply and "没有 /stock" not in reply


async def test_help_for_a_command_that_does_not_exist_still_says_so(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/help nosuch", "alice"))
    assert "没有 /nosuch 这个命令" in transport.texts(GROUP)[-1]


@pytest.mark.parametrize(
    "command",
    [
        "/leader add {{7*7}}",
        "/leader add {{ config }}",
        "/leader add {%print(1)%}",
        "/leader add bob {{x}}",
        "/leader add <script>",
        "/leader add " + "x" * 200,
    ],
)
async def test_leader_add_refuses_tokens_that_are_not_member_ids(make_app, clock, command) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, command, "admin"))
    reply = transport.texts(GROUP)[-1]
    assert "已设为团长" not in reply and "@成员" in reply
    assert app.services.roles.leaders_of(GROUP) == {"lily"}


async def test_leader_add_takes_a_typed_id_or_a_mention(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/leader add wxid_bob-01", "admin"))
    assert "已设为团长" in transport.texts(GROUP)[-1]
    await transport.inject(say(clock, "/leader add @张三", "admin", mentions=("carol",)))
    assert "已设为团长" in transport.texts(GROUP)[-1]
    assert app.services.roles.leaders_of(GROUP) == {"lily", "wxid_bob-01", "carol"}


async def test_a_members_help_says_what_to_type_in_the_group(make_app, clock) -> None:
    """A member's /help listed only /help and /whoami: nothing of 接龙, 我的订单 or 签到, which
    members type as plain words (session 38's README walk)."""
    app, transport = make_app()
    await transport.inject(say(clock, "/help", "alice"))
    [reply] = transport.texts(GROUP)
    words = reply.split("【群里直接发】", 1)[1]
    for said in ("A1 2", "我的订单", "取消", "自提", "签到", "我的积分", "我的优惠券", "抢"):
        assert said in words, said


async def test_a_leaders_help_puts_the_clerks_commands_under_their_own_heading(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/help", "lily"))
    [reply] = transport.texts(GROUP)
    members = reply.split("【群成员】", 1)[1].split("【", 1)[0]
    assert "/pickup" not in members and "/whoami" in members
    clerks = reply.split("【核销员】", 1)[1].split("【", 1)[0]
    assert "/pickup 取货码" in clerks and "/pickups" in clerks


async def test_a_group_command_sent_privately_says_where_to_send_it(make_app, clock) -> None:
    """A leader who tried /stats privately (its answer comes privately) was told there is no such
    command (session 38's second walk)."""
    app, transport = make_app()
    await transport.inject(private_message("/stats", "lily", at=clock.now()))
    [reply] = transport.private_texts("lily")
    assert "没有" not in reply and "/stats" in reply and "群里" in reply
    await transport.inject(private_message("/nosuch", "lily", at=clock.now()))
    assert "没有 /nosuch 这个命令" in transport.private_texts("lily")[-1]
