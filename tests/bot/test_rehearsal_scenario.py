"""A scenario file an operator got wrong is named with what to do, never a stack trace.

Found by walking the README as a new operator (session 38): a missing file or a YAML slip ended
`tuanbot rehearse --scenario` in a 57-line traceback, and a mapping without `steps:` replayed
nothing without a word.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.campaign import Campaign
from bot.rehearsal_scenario import ScenarioError, load_scenario


def campaign() -> Campaign:
    return Campaign.model_validate(
        {
            "id": "tiny",
            "title": "小测试",
            "groups": ["团购一群"],
            "opens_at": datetime(2026, 12, 5, 20, tzinfo=UTC),
            "closes_at": datetime(2026, 12, 5, 21, tzinfo=UTC),
            "products": [{"code": "A1", "name": "草莓", "price": 10, "stock": 5}],
        }
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_scenario_is_read_in_time_order(tmp_path: Path) -> None:
    path = write(tmp_path, '- at: T+2m\n  line: "b@团购一群: 2"\n- at: T+1m\n  line: "a@团购一群: 1"\n')
    steps = load_scenario(path, campaign())
    assert [s.line for s in steps] == ["a@团购一群: 1", "b@团购一群: 2"]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.yaml", campaign())
    assert str(info.value).startswith(f"{tmp_path / 'nope.yaml'}: no such scenario file")
    assert "data/scenarios/" in str(info.value)


def test_a_yaml_slip_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '- at: T+1m\n  line: "a@团购一群: 1"\n- at: [T+2m\n  line: x\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, campaign())
    message = str(info.value)
    assert message.startswith(f"{path}:")
    assert "YAML syntax error" in message
    assert ":4:" in message or ":3:" in message  # the line of the slip, not line 1


def test_a_mapping_without_steps_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, 'at: T+1m\nline: "a@团购一群: 1"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, campaign())
    assert "steps" in str(info.value)


def test_a_steps_mapping_still_reads(tmp_path: Path) -> None:
    path = write(tmp_path, 'steps:\n  - at: T+1m\n    line: "a@团购一群: 1"\n')
    assert [s.line for s in load_scenario(path, campaign())] == ["a@团购一群: 1"]


def test_a_post_just_after_a_node_before_opening_reads_from_that_node() -> None:
    """Posts fan out seconds after their node; before T that read `T-2d23h59m59s` for the second
    group's copy of the T-3d preheat (session 38's README walk)."""
    from datetime import timedelta

    from bot.rehearsal_scenario import offset_label

    assert offset_label(timedelta(days=-3, seconds=1)) == "T-3d+1s"
    assert offset_label(timedelta(minutes=-10, seconds=4)) == "T-10m+4s"
    assert offset_label(timedelta(days=-3)) == "T-3d"
    assert offset_label(timedelta(minutes=-1)) == "T-1m"
    assert offset_label(timedelta(seconds=-20)) == "T-20s"  # within the last minute: as it is
    assert offset_label(timedelta(hours=2, seconds=7)) == "T+2h7s"
    assert offset_label(timedelta(0)) == "T+0s"
