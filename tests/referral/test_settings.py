"""The campaign file's `referral:` section: defaults, and each mistake at its file:line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.campaign import CampaignError, parse_campaign
from tests.commerce.selling_kit import campaign_text

COUPONS = """\
coupons:
  - {id: gift, reward: true, amount: 5, valid_for: 7d}
  - {id: typed, keyword: 邀请券, amount: 3, valid_for: 7d}
  - {id: closing, reward: true, amount: 3}
  - {id: early, reward: true, amount: 3, valid_until: C-1h}
"""


def text_of(section: str) -> str:
    return campaign_text() + COUPONS + "referral:\n" + section


def problems(section: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CampaignError) as error:
        parse_campaign(text_of(section), "p.yaml")
    return [(p.line, p.field, p.message) for p in error.value.problems]


def line_of(section: str, fragment: str) -> int:
    lines = text_of(section).splitlines()
    start = lines.index("referral:")
    if fragment == "referral:":
        return start + 1
    return next(i for i, line in enumerate(lines, start=1) if i > start and fragment in line)


def test_a_valid_section_and_its_defaults() -> None:
    section = parse_campaign(
        text_of(
            "  inviter: {coupon: gift, points: 50}\n"
            "  invitee: {points: 20}\n"
            "  ladders:\n"
            "    - {invites: 3, coupon: gift}\n"
            "    - {invites: 10, points: 500}\n"
        )
    ).referral
    assert section is not None and section.enabled
    assert (section.inviter.coupon, section.inviter.points, section.invitee.points) == ("gift", 50, 20)
    assert [(r.invites, r.coupon, r.points) for r in section.ladders] == [(3, "gift", 0), (10, None, 500)]
    assert (section.board.top, section.board.every, section.board.post) == (10, timedelta(hours=1), True)
    assert parse_campaign(campaign_text()).referral is None


@pytest.mark.parametrize(
    ("section", "where", "field", "fragment"),
    [
        ("  inviter: {coupon: gfit}\n", "inviter", "referral.inviter.coupon", "unknown coupon 'gfit'"),
        (
            "  inviter: {coupon: typed}\n",
            "inviter",
            "referral.inviter.coupon",
            "must be 'reward: true' (only given as a reward, never by typing)",
        ),
        ("  invitee: {coupon: closing}\n", "invitee", "referral.invitee.coupon", "ends at closing"),
        (
            "  invitee: {coupon: early}\n",
            "invitee",
            "referral.invitee.coupon",
            "ends 2026-12-05 21:00, before referral rewards are paid",
        ),
        ("  enabled: true\n", "referral:", "referral", "set a reward"),
        ("  inviter: {points: -1}\n", "inviter", "referral.inviter.points", "must not be negative"),
        (
            "  inviter: {points: 5}\n  ladders:\n    - {invites: 5, points: 1}\n    - {invites: 3, points: 9}\n",
            "invites: 3",
            "referral.ladders[1].invites",
            "ladders must climb",
        ),
        (
            "  inviter: {points: 5}\n  ladders:\n    - {invites: 3}\n",
            "invites: 3",
            "referral.ladders[0]",
            "set 'coupon'",
        ),
        (
            "  inviter: {points: 5}\n  ladders:\n    - {invites: 0, points: 1}\n",
            "invites: 0",
            "referral.ladders[0].invites",
            "at least 1",
        ),
        ("  inviter: {points: 5}\n  board: {every: 1m}\n", "board", "referral.board.every", "at least 10m"),
        ("  inviter: {points: 5}\n  board: {top: 0}\n", "board", "referral.board.top", "at least 1"),
        ("  inviter: {point: 5}\n", "inviter", "referral.inviter.point", "did you mean 'points'?"),
    ],
)
def test_mistakes_are_reported_at_their_line(section: str, where: str, field: str, fragment: str) -> None:
    found = problems(section)
    assert any(f == field and fragment in m for _, f, m in found), found
    line = next(ln for ln, f, m in found if f == field and fragment in m)
    assert line == line_of(section, where)
