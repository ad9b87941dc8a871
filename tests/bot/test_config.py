"""A broken config.yaml stops start-up with a message naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_valid() -> None:
    config = load_config(REPO / "config.yaml")
    assert config.transport == "simulator"
    assert config.database_url().startswith("sqlite:///")
    assert config.database_url().endswith("data/tuanbot.db")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "admins: [a]\noutbox:\n  group_interval_seconds: fast\n",
            "outbox.group_interval_seconds: Input should be a valid number",
        ),
        (
            "admins: [a]\noutbox:\n  group_intervl_seconds: 3\n",
            "outbox.group_intervl_seconds: unknown key; did you mean 'group_interval_seconds'?",
        ),
        (
            "admins: [a]\ngroups:\n  g1:\n    leader: [x]\n",
            "groups.g1.leader: unknown key; did you mean 'leaders'?",
        ),
        ("bot:\n  name: x\n", "admins: required key is missing"),
        ("admins: a-string\n", "admins: Input should be a valid list"),
        ("admins: []\ntransport: telegram\n", "transport: Input should be 'simulator' or 'wechaty'"),
        ("admins: []\ntransport: wechaty\n", "wechaty.endpoint is empty"),
        ("admins: [\n", "not valid YAML"),
        ("admins: []\ndatabase: {url: ''}\n", "database.url: '' is not a database URL"),
        (
            "admins: []\ndatabase: {url: 'postgres//db'}\n",
            "database.url: 'postgres//db' is not a database URL",
        ),
        ("- just\n- a list\n", "top level must be a mapping"),
    ],
)
def test_broken_config_names_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert expected in str(info.value)


def test_a_yaml_slip_in_config_names_its_line(tmp_path: Path) -> None:
    """ruamel's several-line message with a caret pointed past the mistake (session 38's walk)."""
    path = write(tmp_path, "admins: [a]\nbot:\n  name: [团购小助手\ngroups: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:3:9: not valid YAML: a '[' that is never closed; add the missing ']'"


def test_env_overrides_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUANBOT_DATABASE_URL", "postgresql+psycopg2://u@localhost/x")
    assert (
        load_config(write(tmp_path, "admins: []\n")).database_url() == "postgresql+psycopg2://u@localhost/x"
    )


def start(config: Path) -> subprocess.CompletedProcess[str]:
    """`tuanbot run --config CONFIG` with no chat input, as an operator starts it."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        input="",
        cwd=REPO,
        timeout=60,
    )


def test_cli_refuses_to_start_with_broken_config(tmp_path: Path) -> None:
    path = write(tmp_path, "admins: []\noutbox:\n  daily_budget: -5\n")
    proc = start(path)
    assert proc.returncode == 2
    assert "outbox.daily_budget: Input should be greater than or equal to 1" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Fix the keys above" in proc.stderr


def test_an_empty_database_url_stops_the_bot_with_a_sentence(tmp_path: Path) -> None:
    """docs/deploy.md writes `url: ""` and sets TUANBOT_DATABASE_URL in the service's environment:
    with the variable missing, `run` and `db init` ended in SQLAlchemy's traceback, exit 1
    (session 38's second walk)."""
    proc = start(write(tmp_path, "admins: []\ndatabase:\n  url: ''\n"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "database.url: '' is not a database URL" in proc.stderr and "TUANBOT_DATABASE_URL" in proc.stderr


def test_cli_says_what_to_do_about_a_missing_or_unreadable_config(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.yaml", write(tmp_path, "admins: [\n")):
        proc = start(path)
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        assert "Fix the keys above" not in proc.stderr  # there are no keys above to fix
        assert "start again" in proc.stderr
