"""Loading and validating campaign files: the sample is clean, every planted error is found."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.campaign import (
    Campaign,
    CampaignError,
    Problem,
    format_problems,
    load_campaign,
    parse_campaign,
    validate_paths,
)
from bot.campaign.timeline import compile_timeline

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "sample_fixed.yaml"
BROKEN = ROOT / "tests" / "data" / "broken"
TEMPLATES = {
    f"campaign/{kind}.j2" for kind in ("preheat", "countdown", "redpacket", "open", "broadcast", "close")
}

# Every planted error: file -> [(line, field, part of the message)]. The test requires exactly
# these (line, field) pairs — nothing missing, nothing extra — so each line number below was
# checked by hand against the file (the planted lines carry a trailing comment).
EXPECTED: dict[str, list[tuple[int, str, str]]] = {
    "unknown_keys.yaml": [
        (2, "title", "missing required key 'title'"),
        (3, "titel", "did you mean 'title'?"),
        (8, "products[0].price", "missing required key 'price'"),
        (10, "products[0].prise", "did you mean 'price'?"),
        (13, "broadcasts.evry", "did you mean 'every'?"),
        (14, "broadcasts.colour", "allowed keys: at, every, low_stock_threshold"),
        (15, "group_ids", "did you mean 'groups'?"),
    ],
    "types.yaml": [
        (4, "groups", "expected a list"),
        (11, "products[0].stock", "expected a whole number, got 'ten'"),
        (12, "products[0].limit_per_member", "must be at least 1"),
        (13, "products[1].code", "capital letters"),
        (16, "products[1].stock", "expected a whole number, got 5.5"),
        (17, "countdowns[1]", "expected a time like 'T-10m'"),
        (17, "countdowns[2]", "expected a time like 'T-10m'"),
        (22, "red_packets[0].window", "expected a duration like '60s'"),
        (24, "broadcasts.low_stock_threshold", "must be less than 1"),
        (26, "close.results", "expected true or false"),
        (29, "coupons[0].keyword", "put it in quotes"),
        (31, "coupons[0].match", "expected one of 'exact' or 'contains'"),
    ],
    "times.yaml": [
        (10, "preheat[0].at", "must be before opening"),
        (
            14,
            "preheat[2].at",
            "expected a time like 'T-10m', 'T+30m', 'T-1d2h', 'C+1h' or '2026-12-01 20:00'",
        ),
        (16, "countdowns[1]", "must be before opening"),
        (16, "countdowns[2]", "same time (line 16)"),
        (18, "red_packets[0].at", "must be before opening"),
        (22, "broadcasts.at[1]", "outside the sale"),
        (22, "broadcasts.at[2]", "outside the sale"),
        (24, "followups[0].at", "must be after closing"),
    ],
    "order.yaml": [
        (6, "closes_at", "must be after opens_at"),
        (13, "coupons[0].valid_from", "not a real date"),
        (19, "coupons[1].valid_until", "must be after valid_from"),
    ],
    "references.yaml": [
        (4, "groups[2]", "duplicate group '团购一群'"),
        (10, "products[2].code", "duplicate product code 'A1' (first on line 8)"),
        (14, "preheat[0].products[1]", "unknown product code 'B7'; known codes: A1, A2"),
        (15, "preheat[0].coupon", "did you mean 'strawberry'?"),
        (16, "preheat[1]", "set 'text' or 'template'"),
        (21, "red_packets[0].keyword", "also a coupon keyword"),
        (23, "red_packets[0].template", "either 'text' or 'template'"),
        (28, "coupons[0].products[1]", "unknown product code 'A3'"),
        (29, "coupons[1].id", "duplicate coupon id 'strawberry'"),
        (32, "coupons[2]", "on_join"),
        (35, "close.template", "unknown template 'campaign/clsoe.j2'; did you mean 'campaign/close.j2'?"),
        (37, "faq[0]", "add 'keywords' or 'examples'"),
    ],
    "money.yaml": [
        (10, "products[0].price", "must not be negative"),
        (11, "products[0].stock", "must not be negative"),
        (14, "products[1].price", "at most 2 decimal places"),
        (19, "red_packets[0].budget", "0.01 per packet"),
        (23, "coupons[0].amount", "less than min_spend"),
        (27, "coupons[1].amount", "more than 0"),
        (30, "spend_tiers[1].min_spend", "duplicate spend tier"),
        (30, "spend_tiers[1].off", "less than min_spend"),
    ],
    "duplicate_keys.yaml": [
        (4, "title", "duplicate key 'title' (first on line 3)"),
        (13, "products[0].price", "duplicate key 'price' (first on line 11)"),
    ],
    "missing.yaml": [
        (2, "closes_at", "missing required key 'closes_at'"),
        (2, "groups", "set 'groups'"),
        (2, "title", "missing required key 'title'"),
        (5, "products[0].price", "missing required key 'price'"),
        (9, "preheat[0].at", "missing required key 'at'"),
    ],
    "timezone.yaml": [(5, "timezone", "did you mean 'Asia/Shanghai'?")],
    "dst_gap.yaml": [(6, "opens_at", "does not exist in Europe/Berlin")],
    "syntax.yaml": [(7, "", "YAML syntax error")],
    "zz_duplicate_id.yaml": [(2, "id", "campaign id 'refs' is already used by")],
}


def test_sample_validates_clean() -> None:
    campaign = load_campaign(SAMPLE, known_templates=TEMPLATES)
    assert campaign.id == "fruit-2026-12"
    assert campaign.groups == ["团购一群", "团购二群"]
    assert 3 <= len(campaign.products) <= 5
    assert len(campaign.faq) >= 5
    assert {c.id for c in campaign.coupons} >= {"newcomer"}
    assert any(c.keyword == "草莓券" for c in campaign.coupons)
    campaigns, problems = validate_paths([SAMPLE.parent])
    assert problems == []
    assert [c.id for c in campaigns] == ["fruit-2026-12"]


def test_sample_declares_the_schema_on_its_first_line() -> None:
    first = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../docs/campaign.schema.json"


def test_every_broken_file_is_covered() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


def test_every_planted_error_is_reported_on_its_line() -> None:
    _, problems = validate_paths([BROKEN], known_templates=TEMPLATES)
    by_file: dict[str, list[Problem]] = {}
    for problem in problems:
        by_file.setdefault(Path(problem.file).name, []).append(problem)
    for name, expected in EXPECTED.items():
        got = by_file.get(name, [])
        assert sorted((p.line, p.field) for p in got) == sorted((line, f) for line, f, _ in expected), (
            f"{name}:\n{format_problems(got)}"
        )
        for line, field, fragment in expected:
            messages = [p.message for p in got if (p.line, p.field) == (line, field)]
            assert any(fragment in m for m in messages), f"{name}:{line} {field}: {messages}"


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"zz_duplicate_id.yaml"}))
def test_load_campaign_raises_with_all_problems(name: str) -> None:
    with pytest.raises(CampaignError) as info:
        load_campaign(BROKEN / name, known_templates=TEMPLATES)
    assert len(info.value.problems) == len(EXPECTED[name])
    assert str(info.value) == format_problems(info.value.problems)
    assert all(p.file == str(BROKEN / name) for p in info.value.problems)


def test_columns_point_at_the_value_or_key() -> None:
    with pytest.raises(CampaignError) as info:
        load_campaign(BROKEN / "unknown_keys.yaml")
    prise = next(p for p in info.value.problems if p.field == "products[0].prise")
    assert (prise.line, prise.column) == (10, 5)  # the key
    with pytest.raises(CampaignError) as info:
        load_campaign(BROKEN / "money.yaml")
    stock = next(p for p in info.value.problems if p.field == "products[0].stock")
    assert (stock.line, stock.column) == (11, 12)  # the value


def test_problem_string_format() -> None:
    problem = Problem("a.yaml", 12, 5, "products[0].prise", "unknown key 'prise'; did you mean 'price'?")
    assert str(problem) == "a.yaml:12:5: products[0].prise: unknown key 'prise'; did you mean 'price'?"
    assert str(Problem("a.yaml", 1, 1, "", "file is empty")) == "a.yaml:1:1: (file): file is empty"


def test_templates_are_only_checked_when_known_templates_is_given() -> None:
    with pytest.raises(CampaignError) as info:
        load_campaign(BROKEN / "references.yaml")
    assert not any("unknown template" in p.message for p in info.value.problems)


def test_unknown_template_in_otherwise_valid_file() -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace(
        "  text: 🎉 开团啦", "  template: campaign/opne.j2\n  # 🎉 开团啦"
    )
    with pytest.raises(CampaignError) as info:
        parse_campaign(text, "s.yaml", known_templates=TEMPLATES)
    [problem] = info.value.problems
    assert problem.field == "open.template"
    assert "did you mean 'campaign/open.j2'?" in problem.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "file is empty"),
        ("# only a comment\n", "file is empty"),
        ("- a\n- b\n", "expected a mapping"),
        ("id: x\n\tname: y\n", "YAML syntax error"),
        ("a: 1\n---\nb: 2\n", "YAML syntax error"),
    ],
)
def test_whole_file_problems(text: str, fragment: str) -> None:
    with pytest.raises(CampaignError) as info:
        parse_campaign(text, "x.yaml")
    [problem] = info.value.problems
    assert fragment in problem.message


def test_an_unclosed_bracket_is_reported_where_it_opens() -> None:
    """ruamel notices it only at the next key, lines later (session 38's README walk)."""
    text = "id: x\ntitle: [丹东草莓\ngroups: [g]\nopens_at: 2026-12-05 20:00\n"
    with pytest.raises(CampaignError) as info:
        parse_campaign(text, "x.yaml")
    [problem] = info.value.problems
    assert (problem.line, problem.column) == (2, 8)
    assert problem.message == "YAML syntax error: a '[' that is never closed; add the missing ']'"


def test_unreadable_and_missing_paths(tmp_path: Path) -> None:
    binary = tmp_path / "bad.yaml"
    binary.write_bytes(b"id: \xff\xfe\n")
    with pytest.raises(CampaignError, match="UTF-8"):
        load_campaign(binary)
    with pytest.raises(CampaignError, match="cannot read"):
        load_campaign(tmp_path / "nope.yaml")
    campaigns, problems = validate_paths([tmp_path / "nope"])
    assert campaigns == []
    assert [p.message for p in problems] == ["no such file or directory"]


def test_validate_paths_mixes_files_and_directories(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    (tmp_path / "a.yml").write_text(text.replace("id: fruit-2026-12", "id: second"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a campaign", encoding="utf-8")
    campaigns, problems = validate_paths([SAMPLE, tmp_path])
    assert problems == []
    assert [c.id for c in campaigns] == ["fruit-2026-12", "second"]


def test_duplicate_ids_across_files_keep_the_first(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(text, encoding="utf-8")
    campaigns, problems = validate_paths([tmp_path])
    assert len(campaigns) == 1
    [problem] = problems
    assert (Path(problem.file).name, problem.line, problem.field) == ("b.yaml", 10, "id")
    assert "a.yaml" in problem.message


def test_money_is_exact() -> None:
    campaign = load_campaign(SAMPLE)
    strawberry = campaign.product("A1")
    assert strawberry is not None
    assert strawberry.price == Decimal("59.90")
    assert strawberry.price_cents == 5990
    assert campaign.red_packets[0].budget_cents == 5000
    coupon = campaign.coupon("strawberry")
    assert coupon is not None
    assert (coupon.amount_cents, coupon.min_spend_cents) == (800, 5000)
    assert [(t.min_spend, t.off) for t in campaign.spend_tiers] == [
        (Decimal("100.00"), Decimal("10.00")),
        (Decimal("200.00"), Decimal("30.00")),
    ]


MINIMAL = """\
id: mini
title: 最小团
groups: [团购一群]
opens_at: 2026-12-05 20:00
closes_at: 2026-12-05 22:00
products:
  - {code: A1, name: 草莓, price: "¥12.5", stock: 0}
"""


def test_defaults_and_aware_times() -> None:
    campaign = parse_campaign(MINIMAL)
    assert campaign.timezone == "Asia/Shanghai"
    assert campaign.opens_at.utcoffset() is not None
    assert campaign.opens_at.isoformat() == "2026-12-05T20:00:00+08:00"
    assert [str(c) for c in campaign.countdowns] == ["T-10m", "T-5m", "T-1m"]
    assert [str(b) for b in campaign.broadcasts.at] == ["T+30m"]
    assert campaign.broadcasts.low_stock_threshold == 0.2
    assert campaign.broadcasts.window.total_seconds() == 60
    assert campaign.close.results and campaign.close.thanks
    assert campaign.products[0].price == Decimal("12.50")
    assert campaign.products[0].stock == 0


def test_group_tags_alone_are_enough() -> None:
    campaign = parse_campaign(MINIMAL.replace("groups: [团购一群]", "group_tags: [水果]"))
    assert campaign.groups == [] and campaign.group_tags == ["水果"]


def test_aware_opening_is_converted_to_the_campaign_timezone() -> None:
    text = MINIMAL.replace("opens_at: 2026-12-05 20:00", "opens_at: 2026-12-05T12:00:00Z")
    campaign = parse_campaign(text)
    assert campaign.opens_at.isoformat() == "2026-12-05T20:00:00+08:00"


def test_yaml_timestamps_with_seconds_are_accepted() -> None:
    text = MINIMAL.replace("opens_at: 2026-12-05 20:00", "opens_at: 2026-12-05 20:00:00")
    assert parse_campaign(text).opens_at.hour == 20


def test_problems_in_one_section_do_not_hide_time_errors_in_another() -> None:
    text = MINIMAL.replace("stock: 0", "stock: lots") + "countdowns: [T+1m]\n"
    with pytest.raises(CampaignError) as info:
        parse_campaign(text)
    assert sorted(p.field for p in info.value.problems) == ["countdowns[0]", "products[0].stock"]


def test_interval_broadcasts_have_a_floor() -> None:
    text = MINIMAL + "broadcasts:\n  every: 30s\n"
    with pytest.raises(CampaignError, match="at least 1m"):
        parse_campaign(text)


def test_sample_compiles() -> None:
    assert compile_timeline(load_campaign(SAMPLE))


def test_json_dump_round_trips() -> None:
    """The lead can store the last good version as JSON and rebuild the same campaign from it."""
    original = load_campaign(SAMPLE)
    dumped = json.loads(json.dumps(original.model_dump(mode="json"), ensure_ascii=False))
    assert dumped["products"][0]["price"] == "59.90"
    assert dumped["countdowns"] == ["T-10m", "T-5m", "T-1m"]
    rebuilt = Campaign.model_validate(dumped)
    assert rebuilt == original
    assert compile_timeline(rebuilt) == compile_timeline(original)
