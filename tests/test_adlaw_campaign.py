"""The 广告法 lint of campaign files: `campaign validate` through the real CLI, the loader, reloads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.campaign import CampaignError, parse_campaign
from bot.config import AdlawAllow, AdlawSettings
from tests.engagement.support import CAMPAIGN_ID, with_campaign
from tests.test_cli_campaign import tuanbot

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "data" / "campaigns" / "sample.yaml"
FIXED = REPO / "tests" / "fixtures" / "sample_fixed.yaml"
ANCHOR = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TEASER = "🍓 周末鲜果团预告！"
ALLOW = "adlaw:\n  allow:\n    - {word: 全网最低价, reason: 比价截图已存档（2026-12-01）}\n"


def with_lowest_price(text: str) -> str:
    assert text.count(TEASER) == 1
    return text.replace(TEASER, TEASER + "全网最低价，")


def hit_position(text: str, word: str) -> tuple[int, int]:
    for number, row in enumerate(text.splitlines(), start=1):
        if word in row:
            return number, row.index(word) + 1
    raise AssertionError(word)


def problems_of(text: str, **kwargs: object) -> list[str]:
    with pytest.raises(CampaignError) as caught:
        parse_campaign(text, "c.yaml", anchor=ANCHOR, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in caught.value.problems]


def test_validate_refuses_the_shipped_sample_with_the_line_reason_and_suggestion(tmp_path: Path) -> None:
    text = with_lowest_price(SHIPPED.read_text(encoding="utf-8"))
    path = tmp_path / "sample.yaml"
    path.write_text(text, encoding="utf-8")
    proc = tuanbot("campaign", "validate", str(path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line, column = hit_position(text, "全网最低价")
    expected = f"{path}:{line}:{column}: preheat[0].text: 「全网最低价」 绝对化用语 (广告法第九条); suggest 「超值价」"
    assert expected in proc.stdout.splitlines(), proc.stdout
    assert proc.stdout.rstrip().endswith("fix them and run again.")


def test_a_per_campaign_allow_entry_makes_it_pass(tmp_path: Path) -> None:
    path = tmp_path / "sample.yaml"
    path.write_text(with_lowest_price(SHIPPED.read_text(encoding="utf-8")) + ALLOW, encoding="utf-8")
    proc = tuanbot("campaign", "validate", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok  fruit-2026-12")


def test_config_allow_entries_apply_to_every_campaign(tmp_path: Path) -> None:
    path = tmp_path / "sample.yaml"
    path.write_text(with_lowest_price(SHIPPED.read_text(encoding="utf-8")), encoding="utf-8")
    config = tmp_path / "config.yaml"
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    assert "  allow: []" in text
    config.write_text(
        text.replace("  allow: []", "  allow: [{word: 全网最低价, reason: 比价存档}]"), encoding="utf-8"
    )
    proc = tuanbot("campaign", "validate", str(path), "--config", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_shipped_and_fixed_samples_need_no_allow_entry() -> None:
    for path in (SHIPPED, FIXED):
        assert "adlaw:" not in path.read_text(encoding="utf-8")
    parse_campaign(FIXED.read_text(encoding="utf-8"), "fixed.yaml")


def test_an_allow_entry_needs_a_reason() -> None:
    text = (
        with_lowest_price(FIXED.read_text(encoding="utf-8")) + "adlaw:\n  allow:\n    - {word: 全网最低价}\n"
    )
    problems = problems_of(text)
    assert any("adlaw.allow[0].reason" in p for p in problems), problems


def test_every_admin_written_text_is_checked() -> None:
    text = FIXED.read_text(encoding="utf-8")
    edits = {
        "title: 丹东草莓 + 赣南脐橙 周末鲜果团": "title: 丹东草莓 + 赣南脐橙 顶级鲜果团",
        "name: 丹东99红颜草莓": "name: 丹东99红颜草莓（国家级）",
        "description: 江西赣州果园直采，果肉细嫩，酸甜适口。": "description: 江西赣州果园直采，常吃降血压。",
        "text: 🎉 开团啦！": "text: 🎉 开团啦！独家供货！",
        "next_preview: 下周预告：": "next_preview: 下周预告：史无前例，",
        "text: 📷 晒单有礼：": "text: 📷 万能晒单有礼：",
        "answer: 小区内满100元": "answer: 绝无仅有，小区内满100元",
        "keyword: 草莓券": "keyword: 第一券",
    }
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    text = text.replace("    window: 60s\n", "    window: 60s\n    text: 红包雨来了，疗效显著！\n", 1)
    fields = [p.split(": ")[1] for p in problems_of(text)]
    assert fields == [
        "title",
        "products[0].name",
        "products[1].description",
        "red_packets[0].text",
        "open.text",
        "close.next_preview",
        "followups[0].text",
        "coupons[0].keyword",
        "faq[3].answer",
    ]


def test_fake_urgency_is_judged_against_the_closing_time() -> None:
    text = FIXED.read_text(encoding="utf-8")  # opens 12-05 20:00, closes 12-06 22:00 (26 h)
    preheat = text.replace(TEASER, TEASER + "最后一天！")  # T-3d: four days before the close
    [problem] = problems_of(preheat)
    assert "preheat[0].text: 「最后一天」 虚假紧迫 (广告法第二十八条); suggest" in problem
    opening = text.replace("text: 🎉 开团啦！", "text: 🎉 开团啦！最后一天！")
    assert "open.text: 「最后一天」" in problems_of(opening)[0]  # 26 h before the close
    parse_campaign(opening.replace("closes_at: 2026-12-06 22:00", "closes_at: 2026-12-06 18:00"))
    later = text.replace("text: 🙏 水果都收到了吗？", "text: 🙏 售后登记今天截止！")  # after the close
    parse_campaign(later)


def test_literal_sales_figures_are_refused_and_the_bots_figures_pass() -> None:
    text = FIXED.read_text(encoding="utf-8")
    claimed = text.replace("text: 🎉 开团啦！", "text: 🎉 开团啦！已售10万件！")
    [problem] = problems_of(claimed)
    assert "open.text: 「已售10万件」 虚构销量 (电子商务法第十七条); suggest 「用机器人的实时数据" in problem
    broadcast = text.replace("  window: 60s\n\n", "  window: 60s\n  text: 已售 {{ sold }} 件，抓紧！\n\n", 1)
    assert parse_campaign(broadcast).broadcasts.text == "已售 {{ sold }} 件，抓紧！"


def test_the_loader_takes_the_configs_entries() -> None:
    text = with_lowest_price(FIXED.read_text(encoding="utf-8"))
    settings = AdlawSettings(allow=[AdlawAllow(word="全网最低价", reason="比价存档")])
    assert parse_campaign(text, adlaw=settings).id == CAMPAIGN_ID


def test_a_reload_with_a_hit_is_refused_and_the_running_version_kept(make_app, tmp_path: Path) -> None:
    app, _ = make_app()
    registry = with_campaign(app, tmp_path)
    path = tmp_path / "campaigns" / "sample.yaml"
    path.write_text(with_lowest_price(FIXED.read_text(encoding="utf-8")), encoding="utf-8")
    problems = registry.load_file(path)
    assert [p.field for p in problems] == ["preheat[0].text"] and "超值价" in problems[0].message
    assert "全网最低价" not in (registry.campaigns[CAMPAIGN_ID].campaign.preheat[0].text or "")


def test_the_running_bot_applies_the_configs_allow_entries(make_app, tmp_path: Path) -> None:
    from tests.conftest import make_config

    cfg = make_config(tmp_path, adlaw={"allow": [{"word": "全网最低价", "reason": "比价存档"}]})
    app, _ = make_app(cfg=cfg)
    registry = with_campaign(app, tmp_path, with_lowest_price(FIXED.read_text(encoding="utf-8")))
    assert "全网最低价" in (registry.campaigns[CAMPAIGN_ID].campaign.preheat[0].text or "")


def test_a_rehearsal_loads_with_the_configs_allow_entries(tmp_path: Path) -> None:
    """What `campaign validate --config` and the running bot accept, a rehearsal accepts too."""
    from bot.config import parse_config
    from bot.rehearsal import load_for_rehearsal

    path = tmp_path / "sample.yaml"
    path.write_text(with_lowest_price(SHIPPED.read_text(encoding="utf-8")), encoding="utf-8")
    plain = parse_config({"admins": ["admin"]})
    with pytest.raises(CampaignError, match="全网最低价"):
        load_for_rehearsal(path, plain, ANCHOR)
    allowing = parse_config(
        {"admins": ["admin"], "adlaw": {"allow": [{"word": "全网最低价", "reason": "比价存档"}]}}
    )
    assert load_for_rehearsal(path, allowing, ANCHOR).id == "fruit-2026-12"


def test_a_one_off_broadcast_message_is_linted_at_its_line() -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace(
        "broadcasts:\n  at: [T+30m]\n",
        "broadcasts:\n  at: [T+30m]\n  messages:\n    - {at: T-1h, to: all, text: 今晚开团全网最低价}\n",
    )
    line, column = hit_position(text, "全网最低价")
    problems = problems_of(text)
    assert any(
        p.startswith(f"c.yaml:{line}:") and "broadcasts.messages[0].text: 「全网最低价」" in p
        for p in problems
    ), problems
