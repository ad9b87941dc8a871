"""Issue 13.10: only a real join earns a welcome and the newcomer gift; names in join order.

Issue 12.8 (welcome part): a leader's template cannot load files, and a refusal never shows a path.
"""

from __future__ import annotations

from bot.events import Member, MemberJoined
from handlers.coupons.wallet import CouponStore
from tests.engagement.support import CAMPAIGN_ID, GROUP, say, with_campaign
from tests.factories import joined, left


def welcomes(transport) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.text for m in transport.sent if m.group_id == GROUP and m.kind == "welcome"]


async def test_members_who_first_speak_days_later_are_not_newcomers(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "大家好", "alice"))  # the bot starts watching the group
    for day in range(1, 4):
        clock.advance(24 * 3600)
        await transport.inject(say(clock, "A3 1", f"quiet{day}", name=f"老周{day}"))  # there all along
    assert welcomes(transport) == []
    store = CouponStore(app.services.repo.engine)
    assert store.issued_count(CAMPAIGN_ID, "newcomer") == 0


async def test_a_member_seen_leaving_who_speaks_again_has_rejoined(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "早", "bob", name="小B"))
    clock.advance(60)
    await transport.inject(left("bob", at=clock.now()))
    clock.advance(3600)  # back in the group; WeChat never reported the join
    await transport.inject(say(clock, "我又回来了", "bob", name="小B"))
    [text] = welcomes(transport)
    assert "小B" in text
    clock.advance(600)
    await transport.inject(say(clock, "再说一句", "bob", name="小B"))
    assert len(welcomes(transport)) == 1


async def test_names_in_a_combined_welcome_are_in_join_order(make_app, clock) -> None:
    app, transport = make_app()
    ids = [f"n{i}" for i in range(1, 13)]
    await transport.inject(joined(*ids[:6], at=clock.now()), drain=False)
    await transport.inject(  # a second event at the same instant
        MemberJoined(GROUP, tuple(Member(i, i) for i in ids[6:]), clock.now(), event_id="j-same"), drain=False
    )
    await app.services.outbox.drain()
    [text] = welcomes(transport)
    positions = [text.index(f"{i}、") if f"{i}、" in text else text.index(f"{i} ") for i in ids]
    assert positions == sorted(positions), text


async def test_a_welcome_template_that_loads_files_is_refused_without_paths(make_app, clock) -> None:
    app, transport = make_app()
    for source in (
        "{% include '/etc/passwd' %}",
        "{% extends 'welcome/default.j2' %}",
        "{% import 'coupons/_terms.j2' as t %}{{ names }}",
        "{% from 'coupons/_terms.j2' import x %}{{ names }}",
        "{% include names[0] %}",
    ):
        await transport.inject(say(clock, f"/welcome set {source}", "lily"))
        reply = transport.texts(GROUP)[-1]
        assert "模板有误" in reply and "/" not in reply.split("：", 1)[1].split("\n")[0], reply
        assert "templates" not in reply and "passwd" not in reply.replace(source, "")
    await transport.inject(joined("ann", at=clock.now()))
    assert "群规" in welcomes(transport)[-1]  # nothing was saved


async def test_a_stored_template_that_loads_files_never_shows_a_path(make_app, clock) -> None:
    from handlers.welcome.service import WelcomeStore

    app, transport = make_app()
    WelcomeStore(app.services.repo.engine).save_settings(  # saved before set-time checks existed
        GROUP, by="lily", now=clock.now(), template="{% include '/etc/passwd' %}"
    )
    await transport.inject(joined("ann", at=clock.now()))
    await transport.inject(say(clock, "/welcome show", "lily"))
    sent = " ".join(m.text for m in transport.sent)
    assert "passwd" not in sent.replace("{% include '/etc/passwd' %}", "") and "search path" not in sent
    assert "群规" in welcomes(transport)[-1]
