"""`tuanbot run` as an operator uses it: piped simulator input, start-up failures (real subprocess)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
# Generous: a healthy run of the scripts below takes a few seconds; a hang is what this catches.
RUN_BOUND_SECONDS = 45


def write_config(tmp_path: Path, **overrides: object) -> Path:
    """A config whose database, logs and campaigns all live in `tmp_path`."""
    data: dict[str, object] = {
        "admins": ["admin"],
        "groups": {
            "团购一群": {"name": "团购一群", "leaders": ["lily"], "tags": ["fruit"]},
            "团购二群": {"name": "团购二群", "leaders": ["mike"], "tags": ["fruit"]},
        },
        "database": {"url": f"sqlite:///{tmp_path / 'tuanbot.db'}"},
        "campaigns_dir": str(tmp_path / "campaigns"),
        "logging": {"file": str(tmp_path / "logs" / "tuanbot.log")},
    }
    data.update(overrides)
    (tmp_path / "campaigns").mkdir(exist_ok=True)
    shutil.copy(REPO / "data" / "campaigns" / "sample.yaml", tmp_path / "campaigns")
    path = tmp_path / "config.yaml"
    with path.open("w", encoding="utf-8") as fh:
        YAML().dump(data, fh)
    return path


def tuanbot(
    *args: str, stdin: bytes = b"", cwd: Path = REPO, timeout: float = RUN_BOUND_SECONDS
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "TZ": "UTC"},
    )


MEMBERS = ("alice", "bob", "carol", "dave", "erin")
HELP_LINES = "".join(f"{who}@团购一群: /help\n" for who in MEMBERS[:4])


@pytest.mark.parametrize("lines", [3, 5])
def test_piped_help_on_a_fresh_database_sends_every_reply_and_exits(tmp_path: Path, lines: int) -> None:
    config = write_config(tmp_path)
    script = "".join(f"{who}@团购一群: /help\n" for who in MEMBERS[:lines])
    proc = tuanbot("run", "--config", str(config), stdin=script.encode())
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert out.count("你的身份") == lines, out


def test_piped_input_ends_the_run_on_an_existing_database_too(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    first = tuanbot("run", "--config", str(config), stdin=HELP_LINES.encode())
    second = tuanbot("run", "--config", str(config), stdin=HELP_LINES.encode())
    assert (first.returncode, second.returncode) == (0, 0)
    assert second.stdout.decode().count("你的身份") == 4


def test_invalid_utf8_on_stdin_is_read_with_a_replacement_not_dropped(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    script = (
        "alice@团购一群: /help\n".encode()
        + b"bob@\xe5\x9b\xa2\xff: hi\xfe\n"
        + "carol@团购一群: /help\n".encode()
    )
    proc = tuanbot("run", "--config", str(config), stdin=script)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, out + err
    assert "Traceback" not in out + err
    assert out.count("你的身份") == 2, out
    assert "UTF-8" in err and err.count("UTF-8") == 1, err
    log = (tmp_path / "logs" / "tuanbot.log").read_text(encoding="utf-8")
    assert "inbound bob: hi\ufffd" in log


def test_unusable_database_stops_with_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    config = write_config(tmp_path, database={"url": f"sqlite:///{folder}"})
    proc = tuanbot("run", "--config", str(config), stdin=HELP_LINES.encode())
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err, err
    assert f"cannot use the database {folder}" in err, err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only file")
def test_read_only_database_stops_with_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert tuanbot("db", "init", "--config", str(config)).returncode == 0
    db = tmp_path / "tuanbot.db"
    db.chmod(stat.S_IRUSR)
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        proc = tuanbot("run", "--config", str(config), stdin=HELP_LINES.encode())
    finally:
        tmp_path.chmod(stat.S_IRWXU)
        db.chmod(stat.S_IRUSR | stat.S_IWUSR)
    err = proc.stderr.decode()
    assert proc.returncode != 0
    assert "Traceback" not in err, err
    assert str(db) in err and "read-only" in err, err
