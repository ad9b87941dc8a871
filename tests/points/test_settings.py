"""The points settings: config.yaml's `points:` and the campaign file's `points:` section, each
mistake reported with its key (config) or its file:line (campaign)."""

from __future__ import annotations

import zoneinfo

import pytest
from ruamel.yaml import YAML

import bot.campaign.checks as checks
from bot.campaign import CampaignError, parse_campaign
from bot.campaign.models import Points
from bot.campaign.problems import Issue
from bot.campaign.section_checks import double_points
from bot.config import ConfigError, parse_config
from tests.commerce.selling_kit import campaign_text


def config_error(points: object) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config({"admins": ["admin"], "points": points})
    return str(error.value)


def test_config_defaults_and_a_valid_block() -> None:
    default = parse_config({"admins": ["admin"]}).points
    assert (default.enabled, default.checkin, default.entries_shown) == (True, 5, 10)
    assert [(s.day, s.points) for s in default.streak_bonus] == [(3, 5), (7, 20)]
    custom = parse_config(
        {"admins": ["admin"], "points": {"checkin": 2, "streak_bonus": [{"day": 5, "points": 10}]}}
    ).points
    assert custom.checkin == 2 and [(s.day, s.points) for s in custom.streak_bonus] == [(5, 10)]


@pytest.mark.parametrize(
    ("points", "fragment"),
    [
        ({"checkin": -1}, "points.checkin: Input should be greater than or equal to 0"),
        ({"chekin": 3}, "points.chekin: unknown key; did you mean 'checkin'?"),
        ({"streak_bonus": [{"day": 7, "points": 20}, {"day": 3, "points": 5}]}, "days must increase"),
        ({"streak_bonus": [{"day": 3, "points": 5}, {"day": 3, "points": 9}]}, "days must increase"),
        ({"streak_bonus": [{"day": 1, "points": 5}]}, "points.streak_bonus.0.day"),
        ({"entries_shown": 0}, "points.entries_shown"),
    ],
)
def test_config_mistakes_name_the_key(points: dict[str, object], fragment: str) -> None:
    assert fragment in config_error(points)


def problems(section: str) -> list[tuple[int, str, str]]:
    text = campaign_text() + "points:\n" + section
    with pytest.raises(CampaignError) as error:
        parse_campaign(text, "p.yaml")
    return [(p.line, p.field, p.message) for p in error.value.problems]


def line_of(section: str, fragment: str) -> int:
    text = campaign_text() + "points:\n" + section
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_a_valid_campaign_section_and_its_default() -> None:
    campaign = parse_campaign(
        campaign_text() + "points:\n  per_yuan: 0.5\n  double:\n    - {from: T, until: T+1h}\n"
        "    - {from: 2026-12-05 21:30, until: C}\n"
    )
    assert campaign.points.per_yuan == 0.5 and len(campaign.points.double) == 2
    assert str(campaign.points.double[0].until) == "T+1h"
    default = parse_campaign(campaign_text()).points
    assert default.per_yuan == 1.0 and default.double == []


@pytest.mark.parametrize(
    ("section", "where", "field", "fragment"),
    [
        ("  per_yuan: -1\n", "per_yuan", "points.per_yuan", "must not be negative"),
        ("  per_yuan: lots\n", "per_yuan", "points.per_yuan", "expected a number"),
        (
            "  double:\n    - from: T+1h\n      until: T+30m\n",
            "until",
            "points.double[0].until",
            "after from (T+1h)",
        ),
        ("  double:\n    - from: T+1h\n      until: T+1h\n", "until", "points.double[0].until", "after from"),
        (
            "  double:\n    - from: T\n      until: soon\n",
            "until",
            "points.double[0].until",
            "expected a time",
        ),
        ("  double:\n    - until: T+1h\n", "until", "points.double[0].from", "missing required key 'from'"),
        ("  doubel: []\n", "doubel", "points.doubel", "did you mean 'double'?"),
    ],
)
def test_campaign_mistakes_are_reported_at_their_line(
    section: str, where: str, field: str, fragment: str
) -> None:
    found = problems(section)
    assert any(f == field and fragment in m for _, f, m in found), found
    line = next(ln for ln, f, _ in found if f == field)
    assert line == line_of(section, where)


def resolved_issues(section: str) -> list[Issue]:
    """`double_points` on its own, with the sample's T and C (the loader refuses such files, so the
    section is validated alone: the model's checks pass, the resolved ones are what is tested)."""
    campaign = parse_campaign(campaign_text())
    opens, closes = campaign.opens_at, campaign.closes_at
    tz = zoneinfo.ZoneInfo(campaign.timezone)
    points = Points.model_validate(YAML(typ="safe").load("points:\n" + section)["points"])
    issues: list[Issue] = []
    double_points(issues, points, lambda spec: spec.resolve(opens, closes, tz), opens, closes)
    return issues


def test_windows_that_need_t_and_c_are_checked_once_resolved() -> None:
    assert resolved_issues("  double:\n    - {from: T, until: C}\n") == []
    [backwards] = resolved_issues("  double:\n    - {from: C-30m, until: T+10m}\n")
    assert (
        backwards.loc == ("points", "double", 0, "until") and "must be after from (C-30m" in backwards.message
    )
    [outside] = resolved_issues("  double:\n    - {from: T-2h, until: 2026-12-05 19:00}\n")
    assert outside.loc == ("points", "double", 0) and "outside the sale" in outside.message
    [late] = resolved_issues("  double:\n    - {from: C, until: C+1h}\n")
    assert "outside the sale (2026-12-05 20:00 .. 2026-12-05 22:00)" in late.message
    unresolved: list[Issue] = []
    double_points(
        unresolved,
        Points.model_validate({"double": [{"from": "C", "until": "T"}]}),
        lambda s: None,
        None,
        None,
    )
    assert unresolved == []  # without T nothing can be said here (the opening's own error is reported)


@pytest.mark.skipif(
    not hasattr(checks, "double_points"), reason="bot/campaign/checks.py does not call double_points yet"
)
def test_the_loader_reports_resolved_window_mistakes_at_their_line() -> None:
    section = "  double:\n    - from: C-30m\n      until: T+10m\n"
    [(line, field, message)] = problems(section)
    assert (line, field) == (line_of(section, "until"), "points.double[0].until") and "after from" in message


def test_a_redeem_rule_and_its_absence() -> None:
    rule = parse_campaign(
        campaign_text() + "points:\n  redeem: {rate: 100, max_yuan: 20, max_share: 0.5}\n"
    ).points.redeem
    assert rule is not None and (rule.rate, str(rule.max_yuan), rule.max_share) == (100, "20.00", 0.5)
    defaulted = parse_campaign(campaign_text() + "points:\n  redeem: {rate: 10, max_yuan: 3}\n").points.redeem
    assert defaulted is not None and defaulted.max_share == 0.5
    assert parse_campaign(campaign_text()).points.redeem is None  # no redeem: no redemption


@pytest.mark.parametrize(
    ("section", "field", "fragment"),
    [
        ("  redeem:\n    rate: 0\n    max_yuan: 20\n", "points.redeem.rate", "must be at least 1"),
        ("  redeem:\n    rate: 1.5\n    max_yuan: 20\n", "points.redeem.rate", "expected a whole number"),
        ("  redeem:\n    rate: 100\n    max_yuan: 0\n", "points.redeem.max_yuan", "must be more than 0"),
        ("  redeem:\n    rate: 100\n    max_yuan: 1.234\n", "points.redeem.max_yuan", "2 decimal places"),
        (
            "  redeem:\n    rate: 100\n    max_yuan: 20\n    max_share: 1.5\n",
            "points.redeem.max_share",
            "must be at most 1",
        ),
        (
            "  redeem:\n    rate: 100\n    max_yuan: 20\n    max_share: 0\n",
            "points.redeem.max_share",
            "must be more than 0",
        ),
        ("  redeem:\n    max_yuan: 20\n", "points.redeem.rate", "missing required key 'rate'"),
        ("  redeem:\n    rate: 100\n    max_yuan: 20\n    cap: 3\n", "points.redeem.cap", "unknown key"),
    ],
)
def test_redeem_mistakes_are_reported_at_their_line(section: str, field: str, fragment: str) -> None:
    found = problems(section)
    assert any(f == field and fragment in m for _, f, m in found), found
    line = next(ln for ln, f, _ in found if f == field)
    key = field.rsplit(".", 1)[-1]
    assert line == line_of(section, f"{key}:" if f"{key}:" in section else "redeem:")
