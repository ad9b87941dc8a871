"""Read commands beside a running bot leave its send queue alone: `tuanbot report` and `tuanbot lists`
used to restore the outbox as a starting bot does, marking the running bot's message in flight
`uncertain` (so a crash of the bot right after could never tell what it had sent)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.app import App
from tests.conftest import make_config

REPO = Path(__file__).resolve().parents[1]


def _database_with_a_message_in_flight(tmp_path: Path) -> Path:
    app = App.build(make_config(tmp_path))
    app.services.repo.engine.dispose()
    db = tmp_path / "tuanbot.db"
    with sqlite3.connect(db) as con:
        con.execute(
            "INSERT INTO outbox (id, group_id, member_id, text, mentions, priority, kind, replace_key, status,"
            " attempts, last_error, created_at) VALUES (9001, '团购一群', '', '接龙 1. 王阿姨 A1×2', '', 50,"
            " 'reply', '', 'sending', 0, '', '2026-12-04 12:00:00.000000')"
        )
    return db


def _status(db: Path) -> str:
    with sqlite3.connect(db) as con:
        return str(con.execute("SELECT status FROM outbox WHERE id = 9001").fetchone()[0])


def test_report_and_lists_leave_a_running_bots_message_in_flight_as_it_is(tmp_path: Path) -> None:
    db = _database_with_a_message_in_flight(tmp_path)
    for command in (
        ["report", "fruit-2026-12"],
        ["lists", "fruit-2026-12", "--out", str(tmp_path / "lists")],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *command, "--database", f"sqlite:///{db}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode in (0, 1), done.stderr  # figures or "no orders": either way it read
        assert _status(db) == "sending", f"`tuanbot {command[0]}` changed the running bot's send queue"
