"""The campaign file's `poster:` section is validated like every other, each problem at its line."""

from __future__ import annotations

import pytest

from bot.campaign import CampaignError, parse_campaign
from tests.commerce.selling_kit import campaign_text


def problems(poster: str) -> list[tuple[int, str, str]]:
    text = campaign_text() + "poster:\n" + poster
    with pytest.raises(CampaignError) as error:
        parse_campaign(text, "p.yaml")
    return [(p.line, p.field, p.message) for p in error.value.problems]


def line_of(poster: str, key: str) -> int:
    text = campaign_text() + "poster:\n" + poster
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.strip().startswith(f"{key}:"))


def test_a_valid_poster_section_loads_and_its_defaults_are_gmv_with_three_groups() -> None:
    campaign = parse_campaign(
        campaign_text() + "poster:\n  show: units\n  thanks: 谢谢大家\n  top_groups: 0\n"
    )
    assert (campaign.poster.show, campaign.poster.thanks, campaign.poster.top_groups) == (
        "units",
        "谢谢大家",
        0,
    )
    assert campaign.poster.enabled
    default = parse_campaign(campaign_text()).poster
    assert (default.enabled, default.show, default.thanks, default.top_groups) == (True, "gmv", None, 3)


@pytest.mark.parametrize(
    ("poster", "key", "fragment"),
    [
        ("  show: money\n", "show", "'gmv' or 'units'"),
        ("  thanks: " + "谢" * 61 + "\n", "thanks", "at most 60"),
        ("  top_groups: 9\n", "top_groups", "at most 5"),
        ("  enabled: maybe\n", "enabled", "true or false"),
        ("  shw: units\n", "shw", "did you mean 'show'?"),
    ],
)
def test_each_mistake_is_reported_at_its_line(poster: str, key: str, fragment: str) -> None:
    [(line, field, message)] = problems(poster)
    assert line == line_of(poster, key)
    assert field == f"poster.{key}" and fragment in message, message
