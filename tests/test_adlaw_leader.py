"""The 广告法 lint on what leaders type: /welcome set and /faq add are refused privately, not saved."""

from __future__ import annotations

from pathlib import Path

from bot.compliance.adlaw_guard import AdlawGuard
from handlers.faq.store import FaqStore
from handlers.welcome.service import WelcomeStore
from tests.conftest import make_config
from tests.engagement.support import GROUP, say
from tests.factories import joined

REASON = "「全网最低价」绝对化用语（广告法第九条），建议：超值价"


def welcomes(transport) -> list[str]:
    return [m.text for m in transport.sent if m.group_id == GROUP and m.kind == "welcome"]


async def test_a_welcome_with_a_claim_is_refused_privately_and_not_saved(make_app, clock) -> None:
    app, transport = make_app()
    before = len(transport.texts(GROUP))
    await transport.inject(say(clock, "/welcome set 欢迎{{ names | join('、') }}！本群全网最低价", "lily"))
    [notice] = transport.private_texts("lily")
    assert REASON in notice and "欢迎语没有保存" in notice and "团购一群" in notice
    assert transport.texts(GROUP)[before:] == []  # nothing about it in the group
    assert WelcomeStore(app.services.repo.engine).settings(GROUP)[1] == ""
    await transport.inject(joined("ann", at=clock.now()))
    assert "全网最低价" not in welcomes(transport)[-1] and "群规" in welcomes(transport)[-1]


async def test_an_faq_entry_with_a_claim_is_refused_privately_and_not_saved(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/faq add 问 | 国家级品质", "lily"))
    [notice] = transport.private_texts("lily")
    assert "「国家级」绝对化用语（广告法第九条），建议：优质" in notice and "常见问题没有保存" in notice
    assert not any("已添加" in t for t in transport.texts(GROUP))
    assert FaqStore(app.services.repo.engine).custom(GROUP) == []


async def test_the_same_reason_as_campaign_validate(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/faq add 价格怎么样 | 全网最低价", "lily"))
    assert REASON in transport.private_texts("lily")[0]


async def test_ordinary_leader_texts_pass(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(
        say(clock, "/faq add 还有货吗 | 最后一批，第一天开团就发，最近天热注意冷藏", "lily")
    )
    assert "已添加常见问题" in transport.texts(GROUP)[-1]
    await transport.inject(
        say(clock, "/welcome set 欢迎{{ names | join('、') }}！最近上新，第一天开团有惊喜", "lily")
    )
    assert "欢迎语已更新" in transport.texts(GROUP)[-1]
    assert transport.private_texts("lily") == []


async def test_a_groups_allow_entry_lets_the_word_pass_in_that_group_only(
    make_app, clock, tmp_path: Path
) -> None:
    groups = {
        "团购一群": {
            "name": "团购一群",
            "leaders": ["lily"],
            "adlaw": {"allow": [{"word": "国家级", "reason": "国家级非遗产品，证书编号 X-123"}]},
        },
        "团购二群": {"name": "团购二群", "leaders": ["mike"]},
    }
    app, transport = make_app(cfg=make_config(tmp_path, groups=groups))
    await transport.inject(say(clock, "/faq add 问 | 国家级品质", "lily"))
    assert "已添加常见问题" in transport.texts(GROUP)[-1]
    await transport.inject(say(clock, "/faq add 问 | 国家级品质", "mike", group="团购二群"))
    assert "国家级" in transport.private_texts("mike")[0]
    guard = app.services.get_or_make(AdlawGuard, lambda: AdlawGuard(app.services.config))
    assert guard.check_leader_text("团购一群", "国家级品质") == []
    assert [h.word for h in guard.check_leader_text("团购二群", "国家级品质")] == ["国家级"]
