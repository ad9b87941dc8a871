"""`broadcasts.messages` in the campaign file: a broken message is a load problem at its own line
and field, like any other campaign error; with the configured groups in the validation context,
an unknown group or tag is one too."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.campaign.loader import CampaignError, parse_campaign
from bot.campaign.models import Broadcasts
from tests.broadcast.kit import with_messages


def problems(messages: str) -> list[str]:
    with pytest.raises(CampaignError) as caught:
        parse_campaign(with_messages(messages), "fruit.yaml")
    return [str(p) for p in caught.value.problems]


def line_of(messages: str, fragment: str) -> int:
    return next(i for i, row in enumerate(with_messages(messages).splitlines(), 1) if fragment in row)


def test_a_good_message_loads_with_one_or_several_targets() -> None:
    campaign = parse_campaign(
        with_messages(
            '    - {at: "2026-12-05 10:00", to: ["#fruit", 团购一群], text: 开团}\n    - {at: T-1d, to: all, text: 明天开团}\n'
        )
    )
    first, second = campaign.broadcasts.messages
    assert first.to == ["#fruit", "团购一群"] and second.to == ["all"]
    assert campaign.resolve(second.at).isoformat() == "2026-12-04T20:00:00+08:00"


def test_bad_time_empty_text_missing_targets_and_repeats_are_problems_at_their_lines() -> None:
    broken = """\
    - at: tomorrow
      to: #fruit
      text: "  "
    - {at: T-1d, to: [团购一群, "#"], text: 好}
"""
    found = problems(broken)
    assert (
        f"fruit.yaml:{line_of(broken, 'tomorrow')}:11: broadcasts.messages[0].at: expected a time like"
        in found[0]
    )
    to_line = line_of(broken, "to: #fruit")
    assert any(
        p.startswith(f"fruit.yaml:{to_line}:") and "messages[0].to: set the groups" in p and "quote tags" in p
        for p in found
    )
    assert any("broadcasts.messages[0].text: the message is empty" in p for p in found)
    assert any("broadcasts.messages[1].to[1]: '#' needs a tag after it" in p for p in found)

    repeated = "    - {at: T-1d, to: [a], text: 好}\n    - {at: T-1d, to: [a], text: 好}\n"
    assert any("messages[0] and messages[1] are the same message; keep one" in p for p in problems(repeated))
    assert any("'a' is listed twice" in p for p in problems("    - {at: T-1d, to: [a, a], text: 好}\n"))


def test_unknown_groups_and_tags_are_named_when_the_configured_groups_are_given() -> None:
    groups = {"团购一群": ("fruit",), "团购二群": ("veg",)}
    data = {"messages": [{"at": "T-1d", "to": ["#frut", "团购一群", "团购9群"], "text": "好"}]}
    with pytest.raises(ValidationError) as caught:
        Broadcasts.model_validate(data, context={"groups": groups})
    errors = {e["loc"]: e["msg"] for e in caught.value.errors()}
    assert errors == {
        ("messages", 0, "to", 0): "no group in config.yaml has the tag 'frut'; did you mean '#fruit'?",
        ("messages", 0, "to", 2): "unknown group '团购9群'; did you mean '团购二群'?",
    }
    assert Broadcasts.model_validate(data).messages[0].to[0] == "#frut"  # without them: syntax only
