"""Welcome: combined bursts, once per member, the first-message fallback, gifts, leader templates."""

from __future__ import annotations

from datetime import timedelta

from bot.events import GroupMessage, Member, MemberJoined
from handlers.coupons.wallet import CouponStore
from handlers.welcome.chat import WELCOME_DELAY
from tests.engagement.support import CAMPAIGN_ID, GROUP, say, with_campaign
from tests.factories import joined, left


def welcomes(transport) -> list[str]:
    return [m.text for m in transport.sent if m.group_id == GROUP and m.kind == "welcome"]


async def test_thirty_joins_in_a_minute_get_one_welcome_naming_all(make_app, clock) -> None:
    app, transport = make_app()
    for i in range(30):
        await transport.inject(joined(f"new{i}", at=clock.now()), drain=False)
        await app.services.outbox.pump()
        clock.advance(1.5)
    await app.services.outbox.drain()
    [text] = welcomes(transport)
    assert all(f"new{i}" in text for i in range(30))
    assert "团购一群" in text and "群规" in text


async def test_a_join_after_the_welcome_left_starts_a_new_one(make_app, clock) -> None:
    app, transport = make_app()
    start = clock.now()
    await transport.inject(joined("ann", "bea", at=clock.now(), inviter="lily"))
    clock.advance(600)
    await transport.inject(joined("cat", at=clock.now()))
    first, second = welcomes(transport)
    assert "ann" in first and "bea" in first and "lily" in first
    assert "cat" in second and "ann" not in second
    assert transport.sent_at[0] - start >= timedelta(seconds=WELCOME_DELAY)


async def test_the_pending_list_survives_a_restart(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(joined("ann", at=clock.now()), drain=False)
    # the bot restarts before the delayed welcome is sent
    app2, transport2 = make_app()
    await transport2.inject(joined("bea", at=clock.now()))
    [text] = welcomes(transport2)
    assert "ann" in text and "bea" in text


async def test_duplicate_join_events_welcome_once(make_app, clock) -> None:
    app, transport = make_app()
    event = joined("ann", at=clock.now())
    await transport.inject(event)
    clock.advance(300)
    await transport.inject(
        MemberJoined(GROUP, (Member("ann", "ann"),), clock.now(), group_name=GROUP, event_id="x2")
    )
    assert len(welcomes(transport)) == 1


async def test_first_message_without_a_join_is_welcomed_once(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "大家好", "old-timer"))  # the bot starts watching the group
    assert welcomes(transport) == []  # members there before the bot are not newcomers
    await transport.inject(say(clock, "路过", "quiet-newbie", name="小新"))
    await transport.inject(left("quiet-newbie", at=clock.now()))
    clock.advance(24 * 3600 + 60)  # back without a reported join: the bot saw them leave (issue 13.10)
    await transport.inject(say(clock, "请问怎么下单", "quiet-newbie", name="小新"))
    await transport.inject(say(clock, "第二句", "quiet-newbie", name="小新"))
    clock.advance(600)
    await transport.inject(say(clock, "第三句", "quiet-newbie", name="小新"))
    [text] = welcomes(transport)
    assert "小新" in text
    # a fresh process (empty in-memory cache) still never welcomes them again
    app2, transport2 = make_app()
    await transport2.inject(say(clock, "第四句", "quiet-newbie", name="小新"))
    assert welcomes(transport2) == []


async def test_a_seen_join_is_not_welcomed_again_by_the_first_message(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "早", "old-timer"))
    clock.advance(24 * 3600 + 60)
    await transport.inject(joined("ann", at=clock.now()))
    await transport.inject(say(clock, "谢谢欢迎", "ann"))
    assert len(welcomes(transport)) == 1


async def test_first_message_still_reaches_other_handlers(make_app, clock) -> None:
    from handlers.features import FEATURES
    from tests.bot import feature_probe

    app, transport = make_app([*FEATURES, feature_probe])
    await transport.inject(say(clock, "早", "old-timer"))
    await transport.inject(say(clock, "早", "newbie"))
    await transport.inject(left("newbie", at=clock.now()))
    clock.advance(24 * 3600 + 60)
    feature_probe.calls.clear()
    await transport.inject(say(clock, "echo hi", "newbie"))
    assert "echo" in feature_probe.calls
    assert len(welcomes(transport)) == 1


async def test_newcomer_gift_is_issued_on_join_and_announced(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    joined_at = clock.now()
    await transport.inject(joined("ann", "bea", at=clock.now()))
    [text] = welcomes(transport)
    assert "新人礼包" in text and "满¥30.00减¥5.00" in text and "丹东草莓" in text
    store = CouponStore(app.services.repo.engine)
    assert store.issued_count(CAMPAIGN_ID, "newcomer") == 2
    [gift] = store.member_coupons("ann", clock.now())
    assert gift.source == "join" and gift.valid_until == joined_at + timedelta(days=3)


async def test_the_bot_itself_joining_is_not_welcomed(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(joined(app.services.config.bot.id, at=clock.now()))
    assert welcomes(transport) == []


async def test_leader_sets_shows_and_turns_off_the_welcome(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(
        say(clock, "/welcome set 欢迎{{ names | join('、') }}来到{{ group_name }}！", "lily")
    )
    assert (
        "欢迎语已更新" in transport.texts(GROUP)[-1]
        and "欢迎小明、小红来到团购一群！" in transport.texts(GROUP)[-1]
    )
    await transport.inject(say(clock, "/welcome show", "lily"))
    assert "自定义模板" in transport.texts(GROUP)[-1]
    await transport.inject(joined("ann", at=clock.now()))
    assert welcomes(transport)[-1] == "欢迎ann来到团购一群！"
    await transport.inject(say(clock, "/welcome off", "lily"))
    clock.advance(600)
    await transport.inject(joined("bea", at=clock.now()))
    assert len(welcomes(transport)) == 1
    await transport.inject(say(clock, "/welcome on", "lily"))
    await transport.inject(say(clock, "/welcome reset", "lily"))
    await transport.inject(joined("cat", at=clock.now()))
    assert "群规" in welcomes(transport)[-1]


async def test_a_broken_template_is_rejected_and_not_saved(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/welcome set 欢迎{{ names ", "lily"))
    assert "模板有误" in transport.texts(GROUP)[-1]
    await transport.inject(say(clock, "/welcome set 欢迎{{ nmes }}", "lily"))  # unknown variable
    assert "模板有误" in transport.texts(GROUP)[-1]
    await transport.inject(say(clock, "/welcome set {{ ''.__class__.__mro__ }}", "lily"))  # sandbox says no
    assert "模板有误" in transport.texts(GROUP)[-1]
    await transport.inject(joined("ann", at=clock.now()))
    assert "群规" in welcomes(transport)[-1]


async def test_members_cannot_change_the_welcome(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/welcome set 哈哈", "alice"))
    await transport.inject(joined("ann", at=clock.now()))
    assert "群规" in welcomes(transport)[-1]


async def test_member_names_are_echoed_literally(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(
        MemberJoined(
            GROUP,
            (Member("evil", "{{ 7*7 }}"), Member("evil2", "{% for x in range(3) %}x{% endfor %}")),
            clock.now(),
            group_name=GROUP,
            event_id="j-evil",
        )
    )
    [text] = welcomes(transport)
    assert "{{ 7*7 }}" in text and "{% for x in range(3) %}x{% endfor %}" in text and "49" not in text
    # also through a leader's custom template
    await transport.inject(say(clock, "/welcome set 欢迎 {{ names | join(',') }}", "lily"))
    clock.advance(600)
    await transport.inject(
        GroupMessage("m-evil", GROUP, Member("evil3", "{{ 6*7 }}"), "hi", clock.now(), group_name=GROUP)
    )
    await transport.inject(MemberJoined(GROUP, (Member("evil4", "{{ 6*7 }}"),), clock.now(), event_id="j4"))
    assert welcomes(transport)[-1] == "欢迎 {{ 6*7 }}"
