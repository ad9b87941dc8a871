"""The campaign file's `reopen:` section: every mistake at its file:line, and the two timeline nodes
it compiles to (fixed ids, at `at` and `at + window`, critical)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.campaign import CampaignError, compile_timeline, parse_campaign
from tests.commerce.selling_kit import CLOSES, campaign_text


def problems(section: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CampaignError) as error:
        parse_campaign(campaign_text() + section, "r.yaml")
    return [(p.line, p.field, p.message) for p in error.value.problems]


def line_of(section: str, fragment: str) -> int:
    """The file line of the section's first line holding `fragment`."""
    before = len(campaign_text().splitlines())
    return before + next(i for i, line in enumerate(section.splitlines(), start=1) if fragment in line)


@pytest.mark.parametrize(
    ("section", "fragment", "message"),
    [
        ("reopen:\n  at: C-1h\n  window: 2h\n", "at: C-1h", "must be at or after closing"),
        ("reopen:\n  at: T+1h\n  window: 2h\n", "at: T+1h", "must be at or after closing"),
        ("reopen:\n  at: C+1d\n  window: 0s\n", "window: 0s", "must be longer than 0s"),
        ("reopen:\n  at: C+1d\n  window: 2h\n  price: {A9: 5}\n", "price:", "unknown product code 'A9'"),
        ("reopen:\n  at: C+1d\n  window: 2h\n  price: {A1: 12}\n", "price:", "above the sale price of A1"),
        ("reopen:\n  at: C+1d\n  window: 2h\n  price: 120%\n", "price:", "from 1% to 100%"),
        ("reopen:\n  at: C+1d\n  window: 2h\n  price: cheap\n", "price:", "a percentage of the sale price"),
        (
            "reopen:\n  at: C+1d\n  window: 2h\n  buy_get: {buy: 0, get: 1}\n",
            "buy_get:",
            "must be at least 1",
        ),
        (
            "reopen:\n  at: C+1d\n  window: 2h\n  buy_get: {buy: 2, get: -1}\n",
            "buy_get:",
            "must be at least 1",
        ),
        ("reopen:\n  at: C+1d\n  window: 2h\n  recommend_products: [A1, B7]\n", "recommend_products", "'B7'"),
        ("reopen:\n  window: 2h\n", "reopen:", "at"),
    ],
)
def test_mistakes_are_reported_at_their_line(section: str, fragment: str, message: str) -> None:
    found = problems(section)
    assert any(line == line_of(section, fragment) and message in text for line, _, text in found), found


def test_a_valid_section_compiles_to_two_critical_nodes() -> None:
    section = "reopen:\n  at: C+1d\n  window: 2h\n  price: {A1: 10, A2: 9.9}\n  buy_get: {buy: 2, get: 1}\n"
    campaign = parse_campaign(campaign_text() + section, "r.yaml")
    nodes = {n.node_id: n for n in compile_timeline(campaign)}
    start, end = nodes["reopen"], nodes["reopen-close"]
    assert (start.kind, end.kind, start.critical, end.critical) == ("reopen", "reopen-close", True, True)
    assert start.fire_at == CLOSES + timedelta(days=1) and end.fire_at == start.fire_at + timedelta(hours=2)
    assert [n.node_id for n in compile_timeline(campaign)][-2:] == ["reopen", "reopen-close"]
    assert campaign.reopen is not None and campaign.reopen.price_cents("A2", 2050) == 990
    off = parse_campaign(campaign_text() + section + "  enabled: false\n", "r.yaml")
    assert not any(n.kind.startswith("reopen") for n in compile_timeline(off))
