"""A one-off broadcast naming a group or tag config.yaml does not have is refused at its line
when the bot loads the file (and by `campaign validate`), not discovered when it is due."""

from __future__ import annotations

from pathlib import Path

from bot.app import App

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "campaigns" / "sample.yaml"


def with_message(target: str) -> str:
    text = SAMPLE.read_text(encoding="utf-8")
    return text.replace(
        "broadcasts:\n  at: [T+30m]\n",
        f"broadcasts:\n  at: [T+30m]\n  messages:\n    - {{at: T-1h, to: [{target}], text: 今晚八点开团}}\n",
    )


def test_the_running_bot_refuses_a_message_to_an_unknown_group_at_its_line(
    app: tuple[App, object], tmp_path: Path
) -> None:
    bot, _ = app
    path = tmp_path / "campaigns" / "sample.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(with_message("团购九群"), encoding="utf-8")
    line = next(n for n, row in enumerate(path.read_text().splitlines(), start=1) if "团购九群" in row)
    problems = bot.services.campaigns.load_file(path)
    assert [(p.line, p.field) for p in problems] == [(line, "broadcasts.messages[0].to[0]")], problems
    assert "团购九群" in problems[0].message

    path.write_text(with_message("团购一群"), encoding="utf-8")
    assert bot.services.campaigns.load_file(path) == []
