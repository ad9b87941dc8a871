"""Moderation of member posts (issue 16): what is judged, the ladder, the leaders' commands.

Real app on a SQLite file and a fake clock; only the chat network is fake (tests/fakes.py).
"""

from __future__ import annotations

import itertools

from sqlalchemy import select

from bot.config import Config
from bot.events import GroupMessage, Member, PrivateMessage
from handlers.moderation.audit import TABLE
from tests.conftest import make_config
from tests.fakes import FakeClock, FakeTransport

G1, G2 = "团购一群", "团购二群"
_ids = itertools.count(1)
LINK = "https://spam.example.top/a?b=1"


def post(
    clock: FakeClock,
    text: str,
    sender: str = "alice",
    *,
    group: str = G1,
    kind: str = "text",
    mentions: tuple[str, ...] = (),
) -> GroupMessage:
    return GroupMessage(
        message_id=f"mod{next(_ids)}",
        group_id=group,
        sender=Member(sender, sender),
        text=text,
        time=clock.now(),
        mentions=mentions,
        group_name=group,
        kind=kind,
    )


def dm(clock: FakeClock, text: str, sender: str) -> PrivateMessage:
    return PrivateMessage(
        message_id=f"dm{next(_ids)}", sender=Member(sender, sender), text=text, time=clock.now()
    )


def actions(app) -> list[tuple[str, str, str, str]]:
    app.flush_inbound()
    with app.services.repo.engine.connect() as conn:
        rows = conn.execute(select(TABLE).order_by(TABLE.c.id)).all()
    return [(r.group_id, r.member_id, r.action, r.rule) for r in rows]


class RemovingTransport(FakeTransport):
    """The fake network, able to remove members (as the simulator and a group-owner wechaty are)."""

    def __init__(self, app, clock) -> None:
        super().__init__(app, clock)
        self.removed: list[tuple[str, str]] = []

    async def remove_member(self, group_id: str, member_id: str) -> bool:
        self.removed.append((group_id, member_id))
        return True


async def test_three_links_climb_the_ladder_and_are_never_answered(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(post(clock, f"可以开发票吗，公司要报销 {LINK}"))
    [warning] = transport.private_texts("alice")
    assert "发链接" in warning and "第一次提醒" in warning
    assert transport.texts(G1) == []  # no FAQ answer to spam, nothing in the group yet
    transport.clear()
    await transport.inject(post(clock, "[链接]", kind="link"))
    [mention] = transport.sent
    assert mention.group_id == G1 and mention.mentions == ("alice",)
    assert "第 2 次提醒" in mention.text and "spam" not in mention.text
    transport.clear()
    await transport.inject(post(clock, "加我微信 13812345678 送福利"))
    [alert] = transport.private_texts("lily")
    assert "/mute @alice 1h" in alert and "/kick @alice" in alert and "第 3 次" in alert
    assert "138****5678" in alert and "13812345678" not in alert
    assert transport.texts(G1) == []
    assert [a[2] for a in actions(app)] == ["warn", "mention", "alert"]


async def test_leaders_and_admins_are_never_moderated(make_app, clock) -> None:
    app, transport = make_app()
    for sender in ("lily", "admin", "lily", "admin", "lily"):
        await transport.inject(post(clock, f"团购链接 {LINK} 加我微信", sender))
    assert transport.sent == [] and actions(app) == []
    # mike leads the other group, not this one: he is a member here
    await transport.inject(post(clock, LINK, "mike"))
    assert any("发链接" in t for t in transport.private_texts("mike"))


async def test_cards_and_qr_codes_are_judged_and_never_reach_other_handlers(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(post(clock, "/help", "bob", kind="link"))  # a card is never a command
    await transport.inject(post(clock, "某某商城", "carol", kind="mini_program"))
    await transport.inject(post(clock, "王总", "dave", kind="contact_card"))
    await transport.inject(post(clock, "", "erin", kind="qr_image"))
    await transport.inject(post(clock, "", "fay", kind="image"))  # a photo (晒单) is fine
    assert [a[3] for a in actions(app)] == ["link", "mini_program", "contact_card", "qr"]
    assert transport.texts(G1) == [] and transport.private_texts("fay") == []


async def test_links_per_day_allowance(tmp_path, clock) -> None:
    from bot.app import App

    config = make_config(tmp_path, moderation={"links_per_day": 1})
    app = App.build(config, clock=clock)
    transport = FakeTransport(app, clock)
    await transport.inject(post(clock, LINK))
    assert actions(app) == []
    await transport.inject(post(clock, LINK + "2"))
    assert actions(app) == [(G1, "alice", "warn", "link")]
    clock.advance(86400)  # a new day: a new allowance
    await transport.inject(post(clock, LINK + "3"))
    assert len(actions(app)) == 1


async def test_flood_banned_words_mass_mention_and_repeats(make_app, clock) -> None:
    app, transport = make_app()
    for n in range(9):  # more than 8 within 10 s: one flood
        await transport.inject(post(clock, f"在吗{n}", "bob"))
    await transport.inject(post(clock, "网 赌 上分下分 找我", "carol"))  # spaces do not hide it
    await transport.inject(post(clock, "看这里", "dave", mentions=("a", "b", "c", "d", "e")))
    ad = "超低价代购名牌包包欢迎咨询"
    for group in (G1, G2, "团购三群"):
        await transport.inject(post(clock, ad, "erin", group=group))
    assert [(a[1], a[3]) for a in actions(app)] == [
        ("bob", "flood"),
        ("carol", "banned_word"),
        ("dave", "mass_mention"),
        ("erin", "repeat"),
    ]
    assert [a[0] for a in actions(app)][-1] == "团购三群"


async def test_mute_then_messages_are_ignored_and_counted(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(post(clock, "/mute @bob 30m", "lily", mentions=("bob",)))
    assert any("已禁言 bob" in t for t in transport.texts(G1))
    transport.clear()
    await transport.inject(post(clock, "可以开发票吗，公司要报销", "bob"))  # an FAQ question, ignored
    assert transport.texts(G1) == []
    assert "禁言" in transport.private_texts("bob")[0]
    clock.advance(31 * 60)
    transport.clear()
    await transport.inject(post(clock, "可以开发票吗，公司要报销", "bob"))
    assert transport.texts(G1)  # the mute ran out: answered again
    assert [a[2] for a in actions(app)] == ["mute", "warn"]


async def test_mute_survives_a_restart(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(post(clock, "/mute bob 2h", "lily"))
    app.flush_inbound()
    app2, transport2 = make_app()
    await transport2.inject(post(clock, "可以开发票吗，公司要报销", "bob"))
    assert transport2.texts(G1) == []


async def test_unmute(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(post(clock, "/mute @bob", "lily", mentions=("bob",)))
    await transport.inject(post(clock, "/unmute @bob", "lily", mentions=("bob",)))
    transport.clear()
    await transport.inject(post(clock, "你好呀", "bob"))
    assert transport.private_texts("bob") == []
    assert [a[2] for a in actions(app)] == ["mute", "unmute"]


async def test_kick_through_the_transport_and_refused_for_leaders(make_app, clock) -> None:
    app, _ = make_app()
    transport = RemovingTransport(app, clock)
    await transport.inject(post(clock, "/kick @lily", "admin", mentions=("lily",)))
    assert any("不能禁言或移出" in t for t in transport.texts(G1)) and transport.removed == []
    await transport.inject(post(clock, "/mute @admin 1h", "lily", mentions=("admin",)))
    assert sum("不能禁言或移出" in t for t in transport.texts(G1)) == 2
    await transport.inject(post(clock, "/kick @bob", "lily", mentions=("bob",)))
    assert transport.removed == [(G1, "bob")]
    assert any("已将" in t and "bob" in t for t in transport.private_texts("lily"))
    await transport.inject(post(clock, "/kick @bob", "alice", mentions=("bob",)))  # a member may not
    assert transport.removed == [(G1, "bob")]
    assert [a[2] for a in actions(app)] == ["kick"]


async def test_kick_by_hand_when_the_transport_cannot_remove(make_app, clock) -> None:
    app, transport = make_app()  # FakeTransport has no remove_member
    await transport.inject(post(clock, "/kick @bob", "lily", mentions=("bob",)))
    [told] = transport.private_texts("lily")
    assert "手动移出" in told
    assert [a[2] for a in actions(app)] == ["kick_failed"]


async def test_auto_kick_removes_at_the_top_of_the_ladder(tmp_path, clock) -> None:
    from bot.app import App

    config = make_config(
        tmp_path, groups={G1: {"name": G1, "leaders": ["lily"], "moderation": {"auto_kick": True}}}
    )
    app = App.build(config, clock=clock)
    transport = RemovingTransport(app, clock)
    for n in range(3):
        await transport.inject(post(clock, f"{LINK}/{n}"))
    assert transport.removed == [(G1, "alice")]
    assert "自动移出" in transport.private_texts("lily")[0]
    assert [a[2] for a in actions(app)] == ["warn", "mention", "kick"]


async def test_modlog_is_private_and_lists_the_leaders_groups(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(post(clock, LINK, "bob"))
    await transport.inject(post(clock, LINK, "carol", group=G2))
    transport.clear()
    await transport.inject(dm(clock, "/modlog", "lily"))
    [log] = transport.private_texts("lily")
    assert "bob" in log and "私聊警告" in log and "carol" not in log
    await transport.inject(post(clock, "/modlog", "lily"))
    assert transport.texts(G1) == [] and len(transport.private_texts("lily")) == 2
    await transport.inject(dm(clock, "/modlog", "admin"))
    assert "carol" in transport.private_texts("admin")[-1]


async def test_strikes_restart_after_the_reset(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(post(clock, LINK))
    clock.advance(25 * 3600)
    await transport.inject(post(clock, LINK + "x"))
    assert [a[2] for a in actions(app)] == ["warn", "warn"]


async def test_moderation_off_in_a_group(tmp_path, clock) -> None:
    from bot.app import App

    config: Config = make_config(
        tmp_path, groups={G1: {"name": G1, "leaders": ["lily"], "moderation": {"enabled": False}}}
    )
    app = App.build(config, clock=clock)
    transport = FakeTransport(app, clock)
    await transport.inject(post(clock, LINK))
    await transport.inject(post(clock, LINK, group=G2))
    assert actions(app) == [(G2, "alice", "warn", "link")]


def test_groups_without_their_own_rules_share_one_compiled_word_list(tmp_path) -> None:
    """Each configured group compiled its own copy of the shipped list (hundreds of words), on its
    first message: with 1,000 groups, 1,000 compiles and 1,000 copies kept."""
    from handlers.moderation.service import Moderation

    groups = {
        "团购一群": {"name": "团购一群", "leaders": ["lily"]},
        "团购二群": {"name": "团购二群", "leaders": ["mike"]},
        "团购三群": {"name": "团购三群", "leaders": ["mike"], "moderation": {"banned_words": ["拼多多"]}},
        "团购四群": {"name": "团购四群", "leaders": ["mike"], "moderation": {"links_per_day": 3}},
    }
    moderation = Moderation(make_config(tmp_path, groups=groups))
    shared = moderation.words("团购一群")
    assert moderation.words("团购二群") is shared
    assert moderation.words("not configured") is shared
    assert moderation.rules("团购二群") is moderation.rules("团购一群")
    assert (
        moderation.words("团购三群") is not shared and moderation.words("团购三群").find("拼多多") == "拼多多"
    )
    assert shared.find("拼多多") == ""
    assert moderation.rules("团购四群").links_per_day == 3 and moderation.rules("团购一群").links_per_day == 0
