"""The 广告法 checker on its own: the shipped list, ordinary speech, facts, allow and extra entries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.compliance.adlaw import SALES, URGENCY, check
from bot.compliance.adlaw_words import DEFAULT_WORDS_FILE, load_words, shipped
from bot.config import AdlawAllow, AdlawExtra


def words(text: str, **kwargs: object) -> list[str]:
    return [hit.word for hit in check(text, **kwargs)]  # type: ignore[arg-type]


def test_the_issue_example_is_refused_with_reason_and_suggestion() -> None:
    hits = check("全网最低价、国家级品质、100%无农药、治疗失眠")
    assert [(h.word, h.category) for h in hits] == [
        ("全网最低价", "绝对化用语"),
        ("国家级", "绝对化用语"),
        ("100%", "绝对化用语"),
        ("治疗失眠", "医疗功效"),
    ]
    assert hits[0].reason == "广告法第九条" and hits[0].suggest == "超值价"
    assert hits[3].reason == "广告法第十七条"
    assert hits[0].message() == "「全网最低价」 绝对化用语 (广告法第九条); suggest 「超值价」"


@pytest.mark.parametrize(
    "text",
    [
        "最后一批草莓，明天发货",  # 最后 is not a superlative
        "第一天开团，欢迎大家",  # ordinal
        "第一批到货的是草莓",
        "第一次参团的朋友看这里",
        "第一时间发货",
        "最近天气热，注意冷藏",
        "每人最多3盒，最少1盒",
        "最好提前下单",
        "最迟明天中午送达",
        "最新消息请看群公告",
        "已售 {{ sold }} 件，{{ buyers }}人已买",  # the bot's own figures
        "🎉 开团啦！回复“商品编号 数量”接龙下单，例如“A1 2”。草莓每人限购3盒，售完即止！",
        "📷 晒单有礼：收到水果后在群里晒图，前20位送5元无门槛券！",
        "",
    ],
)
def test_ordinary_texts_pass(text: str) -> None:
    assert check(text) == []


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("销量第一的草莓", "第一"),
        ("最甜的草莓", "最甜"),
        ("最好的橙子", "最好"),
        ("顶级果园", "顶级"),
        ("史无前例的低价", "史无前例"),
        ("绝无仅有", "绝无仅有"),
        ("万能调料", "万能"),
        ("独家供货", "独家"),
        ("多吃能防癌", "防癌"),
        ("抗癌水果", "抗癌"),
        ("常吃降血压", "降血压"),
        ("帮助降血糖", "降血糖"),
        ("药用价值高", "药用价值"),
        ("疗效显著", "疗效"),
        ("国宴特供", "国宴特供"),
        ("ＮＯ．１草莓", "ＮＯ．１"),  # full width folds
        ("全 网 最 低 价", "全 网 最 低 价"),  # spaces do not hide a word
    ],
)
def test_shipped_words_are_found_as_written(text: str, word: str) -> None:
    [hit] = check(text)
    assert hit.word == word and text[hit.start : hit.end] == word


def test_overlapping_matches_are_reported_once_the_longest() -> None:
    assert words("史上最低价") == ["史上最低价"]
    assert words("全网最低价") == ["全网最低价"]


def test_template_variables_are_not_checked() -> None:
    assert words("{{ best_luck }}抢到最多") == []
    assert words("{% if first %}最佳{% endif %}") == ["最佳"]  # the literal text between is


def test_fake_urgency_depends_on_how_long_the_sale_stays_open() -> None:
    for text in ["最后一天！", "仅剩今天", "今天截止", "最后3小时"]:
        [hit] = check(text, closes_in=timedelta(days=3))
        assert hit.category == URGENCY and hit.reason == "广告法第二十八条" and hit.suggest
    assert check("最后一天！", closes_in=timedelta(hours=20)) == []
    assert check("最后3小时", closes_in=timedelta(hours=2, minutes=30)) == []
    assert words("最后3小时", closes_in=timedelta(hours=5)) == ["最后3小时"]
    assert words("明天截止", closes_in=timedelta(hours=30)) == []
    assert words("最后一天", closes_in=None) == ["最后一天"]  # shown any time: not true most of it
    assert check("最后一天", closes_in=timedelta(days=3), urgency=False) == []
    assert check("最后一天", closes_in=-timedelta(hours=1)) == []  # after the close


@pytest.mark.parametrize(
    "text", ["已售10万件", "销量突破5000+", "3000人已买", "10万+人都在买", "好评率99%", "月销3000单"]
)
def test_literal_sales_figures_are_refused(text: str) -> None:
    [hit] = check(text)
    assert hit.category == SALES and hit.word == text and "{{ sold }}" in hit.suggest
    assert hit.reason == "电子商务法第十七条"


def test_allow_entries_cover_their_occurrences_and_name_entries() -> None:
    allow = [AdlawAllow(word="全网最低价", reason="比价截图存档")]
    assert check("全网最低价，国家级品质", allow=allow)[0].word == "国家级"
    assert check("全网最低价", allow=allow) == []
    assert check("第一名", allow=[AdlawAllow(word="第一", reason="评比证书")]) == []  # names the entry
    assert check("国家级品质", allow=[AdlawAllow(word="国家级品质", reason="证书编号…")]) == []
    assert words("国家级", allow=[AdlawAllow(word="全网最低价", reason="x")]) == ["国家级"]


def test_extra_words_are_added_with_their_reason() -> None:
    extra = [
        AdlawExtra(word="秒杀全网", reason="绝对化用语", suggest="限时特价"),
        AdlawExtra(word="吊打", reason="贬低同行", suggest=""),
    ]
    first, second = check("秒杀全网，吊打同行", extra=extra)
    assert (first.word, first.category, first.reason, first.suggest) == (
        "秒杀全网",
        "绝对化用语",
        "广告法第九条",
        "限时特价",
    )
    assert (second.category, second.reason) == ("运营自定", "贬低同行")
    assert second.message() == "「吊打」 运营自定 (贬低同行)"


def test_the_shipped_list_loads_and_covers_the_required_words() -> None:
    listed = {rule.word for rule in shipped().rules}
    required = {"最", "最低", "最好", "最佳", "第一", "顶级", "国家级", "全网最低价", "100%", "万能"}
    required |= {"绝无仅有", "史无前例", "独家", "治疗", "防癌", "抗癌", "降血压", "降血糖", "治愈"}
    required |= {"疗效", "药用", "治疗失眠"}
    assert required <= listed
    assert all(rule.suggest for rule in shipped().rules)
    assert DEFAULT_WORDS_FILE.read_text(encoding="utf-8").startswith("# 广告法词表")


def test_a_broken_list_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "adlaw.yaml"
    path.write_text("categories: {}\nwords:\n  - {word: x, category: nope}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown categories: nope"):
        load_words(path)
