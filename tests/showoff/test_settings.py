"""The campaign file's `showoff:` section: defaults, and each mistake at its file:line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.campaign import CampaignError, parse_campaign
from tests.commerce.selling_kit import campaign_text

COUPONS = """\
coupons:
  - {id: thanks, keyword: 晒单券, amount: 5, valid_for: 7d}
  - {id: closing, keyword: 结团券, amount: 3}
  - {id: early, keyword: 早鸟券, amount: 3, valid_until: C-1h}
"""


def text_of(section: str) -> str:
    return campaign_text() + COUPONS + "showoff:\n" + section


def problems(section: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CampaignError) as error:
        parse_campaign(text_of(section), "p.yaml")
    return [(p.line, p.field, p.message) for p in error.value.problems]


def line_of(section: str, fragment: str) -> int:
    lines = text_of(section).splitlines()
    start = lines.index("showoff:")
    if fragment == "showoff:":
        return start + 1
    return next(i for i, line in enumerate(lines, start=1) if i > start and fragment in line)


def test_a_valid_section_and_its_default_window() -> None:
    campaign = parse_campaign(text_of("  first: 20\n  coupon: thanks\n  points: 30\n"))
    section = campaign.showoff
    assert section is not None and (section.first, section.coupon, section.points) == (20, "thanks", 30)
    assert (str(section.from_), str(section.until)) == ("C", "C+3d")
    assert campaign.resolve(section.from_) == campaign.closes_at
    assert campaign.resolve(section.until) == campaign.closes_at + timedelta(days=3)
    only_points = parse_campaign(text_of("  {first: 5, points: 10, from: C+1h, until: C+2d}\n")).showoff
    assert only_points is not None and only_points.coupon is None
    assert parse_campaign(campaign_text()).showoff is None


@pytest.mark.parametrize(
    ("section", "where", "field", "fragment"),
    [
        ("  first: 20\n  coupon: thankz\n", "coupon", "showoff.coupon", "unknown coupon 'thankz'"),
        ("  first: 20\n  coupon: closing\n", "coupon", "showoff.coupon", "ends at closing"),
        (
            "  first: 20\n  coupon: early\n",
            "coupon",
            "showoff.coupon",
            "ends 2026-12-05 21:00, before 晒单 starts",
        ),
        ("  first: 20\n", "showoff:", "showoff", "set 'coupon'"),
        ("  first: 0\n  points: 5\n", "first", "showoff.first", "must be at least 1"),
        ("  first: 10\n  points: 5\n  from: T+1h\n", "from", "showoff.from", "at or after closing"),
        ("  first: 10\n  points: 5\n  from: C+1d\n  until: C+1h\n", "until", "showoff.until", "after from"),
        (
            "  first: 10\n  points: 5\n  from: C\n  until: 2026-12-05 21:00\n",
            "until",
            "showoff.until",
            "after from",
        ),
        ("  first: 10\n  points: -5\n", "points", "showoff.points", "must not be negative"),
        (
            "  first: 10\n  point: 5\n",
            "point",
            "showoff.point",
            "unknown key 'point'; did you mean 'points'?",
        ),
    ],
)
def test_mistakes_are_reported_at_their_line(section: str, where: str, field: str, fragment: str) -> None:
    found = problems(section)
    assert any(f == field and fragment in m for _, f, m in found), found
    line = next(ln for ln, f, m in found if f == field and fragment in m)
    assert line == line_of(section, where)


def test_a_reward_coupon_needs_no_keyword_and_a_coupon_with_no_way_to_be_given_is_refused() -> None:
    reward_only = "coupons:\n  - {id: thanks, reward: true, amount: 5, valid_for: 7d}\nshowoff: {first: 3, coupon: thanks}\n"
    campaign = parse_campaign(campaign_text() + reward_only)
    assert [(c.id, c.keyword, c.reward) for c in campaign.coupons] == [("thanks", None, True)]
    with pytest.raises(CampaignError) as error:
        parse_campaign(campaign_text() + "coupons:\n  - {id: lost, amount: 5}\n", "p.yaml")
    [problem] = error.value.problems
    assert problem.field == "coupons[0]" and "'reward: true'" in problem.message
