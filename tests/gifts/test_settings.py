"""The campaign file's `gifts:` section: defaults, and each mistake at its file:line."""

from __future__ import annotations

import pytest

from bot.campaign import CampaignError, parse_campaign
from tests.commerce.selling_kit import campaign_text

COUPONS = """\
coupons:
  - {id: gift5, reward: true, amount: 5, valid_for: 7d}
  - {id: typed, keyword: 领券, amount: 3}
"""


def text_of(section: str) -> str:
    return campaign_text() + COUPONS + "gifts:\n" + section


def problems(section: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CampaignError) as error:
        parse_campaign(text_of(section), "p.yaml")
    return [(p.line, p.field, p.message) for p in error.value.problems]


def line_of(section: str, fragment: str) -> int:
    lines = text_of(section).splitlines()
    start = lines.index("gifts:")
    return next(i for i, line in enumerate(lines, start=1) if i > start and fragment in line)


def test_a_valid_section_and_its_defaults() -> None:
    section = parse_campaign(text_of("  first: 100\n  gift: 保温杯一个\n")).gifts
    assert section is not None
    assert (section.first, section.gift, section.on_cancel, section.products) == (
        100,
        "保温杯一个",
        "pass",
        [],
    )
    assert (section.coupon, section.points, section.enabled) == (None, 0, True)
    full = parse_campaign(
        text_of("  {first: 5, gift: 围裙, coupon: gift5, points: 20, on_cancel: keep, products: [A2]}\n")
    ).gifts
    assert full is not None and (full.coupon, full.points, full.on_cancel, full.products) == (
        "gift5",
        20,
        "keep",
        ["A2"],
    )
    assert parse_campaign(campaign_text()).gifts is None


@pytest.mark.parametrize(
    ("section", "where", "field", "fragment"),
    [
        ("  first: 10\n  gift: 杯子\n  coupon: gift6\n", "coupon", "gifts.coupon", "unknown coupon 'gift6'"),
        (
            "  first: 10\n  gift: 杯子\n  coupon: typed\n",
            "coupon",
            "gifts.coupon",
            "must be 'reward: true' to be given as a gift",
        ),
        ("  first: 0\n  gift: 杯子\n", "first", "gifts.first", "at least 1"),
        ("  first: 10001\n  gift: 杯子\n", "first", "gifts.first", "10000"),
        ("  first: 10\n  gift: 杯子\n  on_cancel: give\n", "on_cancel", "gifts.on_cancel", "pass"),
        (
            "  first: 10\n  gift: 杯子\n  products: [A9]\n",
            "products",
            "gifts.products[0]",
            "unknown product code 'A9'",
        ),
        ("  first: 10\n  gift: 杯子\n  points: -1\n", "points", "gifts.points", "negative"),
        ("  first: 10\n  gift: ''\n", "gift", "gifts.gift", "must not be empty"),
    ],
)
def test_each_mistake_is_reported_at_its_line(section: str, where: str, field: str, fragment: str) -> None:
    found = problems(section)
    assert any(
        line == line_of(section, where + ":") and name == field and fragment in message
        for line, name, message in found
    ), found


def test_a_gift_needs_first_and_what_it_is() -> None:
    found = problems("  points: 5\n")
    assert {name for _, name, _ in found} >= {"gifts.first", "gifts.gift"}
