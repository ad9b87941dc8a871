"""The campaign file's `leaderboard:` section: defaults, and each mistake at its file:line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.campaign import CampaignError, parse_campaign
from tests.commerce.selling_kit import campaign_text


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CampaignError) as error:
        parse_campaign(text, "p.yaml")
    return [(p.line, p.field, p.message) for p in error.value.problems]


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_defaults_and_a_full_section() -> None:
    section = parse_campaign(campaign_text() + "leaderboard: {}\n").leaderboard
    assert section is not None
    assert (section.enabled, section.top, section.compare_groups, section.rank_groups_by) == (
        True,
        5,
        True,
        "units",
    )
    assert section.with_broadcasts and section.every is None
    full = parse_campaign(
        campaign_text() + "leaderboard: {top: 3, compare_groups: false, rank_groups_by: gmv, every: 15m}\n"
    ).leaderboard
    assert full is not None and full.every == timedelta(minutes=15) and full.rank_groups_by == "gmv"
    assert parse_campaign(campaign_text()).leaderboard is None


@pytest.mark.parametrize(
    ("section", "field", "message"),
    [
        ("leaderboard: {top: 0}", "leaderboard.top", "at least 1"),
        ("leaderboard: {top: 11}", "leaderboard.top", "10"),
        ("leaderboard: {every: 1m}", "leaderboard.every", "at least 5m"),
        ("leaderboard: {rank_groups_by: buyers}", "leaderboard.rank_groups_by", "units"),
        ("leaderboard: {tpo: 3}", "leaderboard.tpo", "top"),
        ("leaderboard: {with_broadcasts: false}", "leaderboard", "never posted"),
    ],
)
def test_each_mistake_at_its_line(section: str, field: str, message: str) -> None:
    text = campaign_text() + section + "\n"
    found = problems(text)
    assert [(line, f) for line, f, _ in found] == [(line_of(text, "leaderboard:"), field)]
    assert message in found[0][2]


def test_a_board_riding_no_broadcast_is_refused_unless_it_has_every() -> None:
    text = campaign_text().replace("  at: [T+30m]\n", "  at: []\n") + "leaderboard: {top: 3}\n"
    [(line, field, message)] = problems(text)
    assert (line, field) == (line_of(text, "leaderboard:"), "leaderboard") and "broadcasts" in message
    assert parse_campaign(text.replace("{top: 3}", "{top: 3, every: 10m}")).leaderboard is not None
    assert parse_campaign(text.replace("{top: 3}", "{enabled: false}")).leaderboard is not None
