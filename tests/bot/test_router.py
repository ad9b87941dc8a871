"""Router behaviour: dedupe, priorities, failure isolation, roles by id."""

from __future__ import annotations

import pytest

from bot.router import parse_command
from handlers.admin import roles as roles_module
from handlers.help import chat as help_module
from tests.bot import feature_probe
from tests.conftest import AppFactory
from tests.factories import group_message, joined

FEATURES = [feature_probe, help_module, roles_module]


@pytest.fixture(autouse=True)
def _reset() -> None:
    feature_probe.calls.clear()


async def test_duplicate_message_id_is_handled_once(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    msg = group_message("echo hi", at=clock.now(), message_id="dup-1")
    await transport.inject(msg)
    await transport.inject(msg)
    assert feature_probe.calls.count("echo") == 1
    assert len(transport.texts()) == 1


async def test_duplicate_survives_restart_via_inbound_log(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("echo hi", at=clock.now(), message_id="dup-2"))
    app.flush_inbound()  # the inbound log is written behind; a clean shutdown flushes it too
    app2, transport2 = make_app(FEATURES)
    result = await transport2.inject(group_message("echo hi", at=clock.now(), message_id="dup-2"))
    assert result.duplicate
    assert transport2.sent == []


async def test_raising_handler_does_not_stop_the_next_and_group_sees_nothing(
    make_app: AppFactory, clock
) -> None:
    app, transport = make_app(FEATURES)
    result = await transport.inject(group_message("boom", at=clock.now()))
    assert feature_probe.calls == ["raises", "last"]
    assert result.failed == ["tests.bot.feature_probe.handle_first_raises"]
    assert transport.sent == []


async def test_priorities_order_handlers_and_handled_stops(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("echo", at=clock.now()))
    assert feature_probe.calls == ["raises", "echo"]  # echo handled it: 'last' never ran
    feature_probe.calls.clear()
    await transport.inject(group_message("stop now", at=clock.now()))
    assert feature_probe.calls == ["stopper"]


async def test_join_events_reach_event_handlers(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(joined("bob", at=clock.now()))
    assert feature_probe.calls == ["join"]
    assert app.services.repo.member_count("团购一群") == 1


async def test_renamed_member_gets_no_leader_command(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    # lily is the configured leader; mallory renames herself to "lily".
    await transport.inject(group_message("/secret", sender="mallory", name="lily", at=clock.now()))
    assert "secret" not in feature_probe.calls
    assert transport.texts() == ["/secret 仅限团长使用。如需开通，请联系管理员。"]
    assert transport.sent[0].mentions == ("mallory",)


async def test_leader_by_id_may_use_leader_command(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("/secret", sender="lily", name="随便改的名字", at=clock.now()))
    assert feature_probe.calls == ["secret"]


async def test_leader_of_another_group_is_refused(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("/secret", sender="mike", at=clock.now()))
    assert feature_probe.calls == []
    assert "仅限团长" in transport.texts()[0]


async def test_failing_command_tells_sender_privately_not_group(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("/crash", sender="bob", at=clock.now()))
    assert transport.texts("团购一群") == []
    private = transport.private_texts("bob")
    assert len(private) == 1 and "/crash 执行时出错" in private[0]
    assert "internal details" not in private[0] and "Traceback" not in private[0]


async def test_unknown_and_fullwidth_commands(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("／ＨＥＬＰ", at=clock.now()))
    assert "可用命令" in transport.texts()[0]
    transport.clear()
    await transport.inject(group_message("/nosuch 1 2", at=clock.now()))
    assert transport.texts() == ["没有 /nosuch 这个命令哦，发送 /help 查看可用命令。"]


async def test_help_lists_commands_by_role_from_docstrings(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("/help", sender="bob", at=clock.now()))
    member_help = transport.texts()[0]
    assert "/whoami" in member_help and "/secret" not in member_help and "/leader" not in member_help
    transport.clear()
    await transport.inject(group_message("/help", sender="admin", at=clock.now()))
    admin_help = transport.texts()[0]
    assert "/secret — leader-only probe" in admin_help and "/leader add|remove" in admin_help
    transport.clear()
    await transport.inject(group_message("/help leader", sender="admin", at=clock.now()))
    assert "设置本群团长" in transport.texts()[0]


async def test_admin_grants_leader_by_mention_id(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("/secret", sender="bob", name="鲍勃", at=clock.now()))
    assert feature_probe.calls == []
    await transport.inject(
        group_message("/leader add @鲍勃", sender="admin", mentions=("bob",), at=clock.now())
    )
    assert "已设为团长" in transport.texts()[-1]
    await transport.inject(group_message("/secret", sender="bob", at=clock.now()))
    assert feature_probe.calls == ["secret"]
    await transport.inject(
        group_message("/leader remove @bob", sender="admin", mentions=("bob",), at=clock.now())
    )
    feature_probe.calls.clear()
    await transport.inject(group_message("/secret", sender="bob", at=clock.now()))
    assert feature_probe.calls == []


async def test_malformed_leader_command_gets_usage(make_app: AppFactory, clock) -> None:
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("/leader frobnicate", sender="admin", at=clock.now()))
    assert transport.texts() == [
        "格式不对哦。用法：/leader add|remove @成员 或 /leader list — 设置本群团长（仅管理员）"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/stock A1 +20", ("stock", ("A1", "+20"))),
        ("  ／ｓｔｏｃｋ　Ａ１", ("stock", ("A1",))),
        ("/Help", ("help", ())),
        ("hello /help", None),
        ("/", None),
        ("/{{7*7}}", None),
        ("//x", None),
    ],
)
def test_parse_command(text: str, expected: tuple[str, tuple[str, ...]] | None) -> None:
    call = parse_command(text)
    assert (None if call is None else (call.name, call.args)) == expected


async def test_chinese_aliases_are_commands_and_other_chinese_after_a_slash_is_chatter(
    make_app: AppFactory, clock
) -> None:
    """Leaders type `/帮助` as often as `/help`; the aliases were declared but never parsed."""
    app, transport = make_app(FEATURES)
    await transport.inject(group_message("/帮助", at=clock.now()))
    assert "/help" in transport.texts()[-1]
    sent = len(transport.sent)
    await transport.inject(group_message("/哈哈哈 今天好热", at=clock.now()))
    assert len(transport.sent) == sent  # no "unknown command" for chatter that starts with a slash
    assert parse_command("／帮助 stock") is not None
