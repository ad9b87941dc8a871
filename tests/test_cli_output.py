"""What an operator sees: log stamps in the bot's timezone, full tables when piped, rehearsal files."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from loguru import logger

from bot.config import load_config
from bot.logging_setup import setup_logging
from bot.rehearsal import rehearse

REPO = Path(__file__).resolve().parents[1]

TINY_CAMPAIGN = """\
id: tiny-export
title: 一个很长很长的标题用来检查表格在管道输出时不会被截断的情况
groups: [团购一群]
timezone: Asia/Shanghai
opens_at: 2026-12-05 20:00
closes_at: 2026-12-05 20:30
products:
  - code: A1
    name: 丹东99红颜草莓
    price: 59.90
    stock: 20
countdowns: [T-1m]
"""

TINY_SCENARIO = """\
- at: T+1m
  line: "alice@团购一群: A1 2"
- at: T+2m
  line: "lily@团购一群: /export"
"""


def write_setup(tmp_path: Path) -> Path:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "tiny.yaml").write_text(TINY_CAMPAIGN, encoding="utf-8")
    (tmp_path / "scenario.yaml").write_text(TINY_SCENARIO, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        "admins: [admin]\n"
        "groups:\n  团购一群: {name: 团购一群, leaders: [lily]}\n"
        f"database: {{url: 'sqlite:///{tmp_path / 'tuanbot.db'}'}}\n"
        f"campaigns_dir: {tmp_path / 'campaigns'}\n",
        encoding="utf-8",
    )
    return config


def tuanbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI with stdout a pipe, no COLUMNS: how `tuanbot ... | less` or a CI log sees it."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(REPO)},
    )


def test_log_stamps_on_screen_are_in_the_bots_timezone(capsys: pytest.CaptureFixture[str]) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: never the machine's own zone
    setup_logging("INFO", None, timezone=zone)
    try:
        logger.warning("a warning an operator reads")
    finally:
        setup_logging("INFO", None)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    stamp = re.match(r"^(\d\d):(\d\d):(\d\d) ", line)
    assert stamp, line
    now = datetime.now(ZoneInfo(zone))
    shown = now.replace(hour=int(stamp[1]), minute=int(stamp[2]), second=int(stamp[3]))
    assert abs((now - shown) % timedelta(days=1)) < timedelta(minutes=1) or abs(
        (shown - now) % timedelta(days=1)
    ) < timedelta(minutes=1), line


def test_piped_tables_are_full_width_and_plain(tmp_path: Path) -> None:
    config = write_setup(tmp_path)
    proc = tuanbot("campaign", "show", "tiny-export", "--config", str(config), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout, proc.stdout
    assert "一个很长很长的标题用来检查表格在管道输出时不会被截断的情况" in proc.stdout
    assert "countdown-T-1m" in proc.stdout
    assert "\x1b[" not in proc.stdout  # no colour codes in a pipe
    report = tuanbot("report", "tiny-export", "--config", str(config), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "…" not in report.stdout, report.stdout
    assert "转化%(全部)" in report.stdout


async def test_rehearsal_writes_exports_and_transcript_only_into_its_own_folder(tmp_path: Path) -> None:
    config_path = write_setup(tmp_path)

    config = load_config(config_path)
    lines: list[str] = []
    result = await rehearse(
        tmp_path / "campaigns" / "tiny.yaml",
        config,
        speed=3600,
        scenario=tmp_path / "scenario.yaml",
        echo=lines.append,
        keep_workdir=True,
    )
    assert not (tmp_path / "data" / "exports").exists()
    exports = list((result.workdir / "exports").glob("tiny-export-*.csv"))
    assert len(exports) == 1
    assert (result.workdir / "transcript.jsonl").read_text(encoding="utf-8").count("\n") == len(
        result.transcript
    )
    assert any(str(result.workdir) in line for line in lines)


async def test_rehearsal_transcript_goes_where_it_is_told(tmp_path: Path) -> None:
    config_path = write_setup(tmp_path)

    wanted = tmp_path / "out" / "t.jsonl"
    wanted.parent.mkdir()
    result = await rehearse(
        tmp_path / "campaigns" / "tiny.yaml",
        load_config(config_path),
        speed=3600,
        transcript_path=wanted,
        echo=lambda _: None,
    )
    assert wanted.read_text(encoding="utf-8").count("\n") == len(result.transcript) > 0
    assert not result.workdir.exists()


def test_rehearse_command_leaves_nothing_in_the_working_folder(tmp_path: Path) -> None:
    config = write_setup(tmp_path)
    before = set(tmp_path.rglob("*"))
    proc = tuanbot(
        "rehearse",
        str(tmp_path / "campaigns" / "tiny.yaml"),
        "--scenario",
        str(tmp_path / "scenario.yaml"),
        "--speed",
        "3600",
        "--config",
        str(config),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "…" not in proc.stdout
    assert set(tmp_path.rglob("*")) - before <= {tmp_path / "tuanbot.db"}, set(tmp_path.rglob("*")) - before


def test_every_command_has_help() -> None:
    import typer
    from typer.testing import CliRunner

    from bot.cli import cli

    def paths(command: Any, prefix: list[str]) -> list[list[str]]:
        found = [prefix]
        if hasattr(command, "commands"):  # a group (typer carries its own click)
            for name, sub in command.commands.items():
                found += paths(sub, [*prefix, name])
        return found

    every = paths(typer.main.get_command(cli), [])
    assert ["rehearse"] in every and ["db", "init"] in every
    for path in every:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, (path, result.output)


def test_a_table_too_wide_for_the_terminal_is_printed_turned() -> None:
    """`tuanbot report` has twenty columns: in a 100-column terminal every cell read "…"."""
    import io

    from rich.console import Console
    from rich.table import Table

    from bot.cli_output import print_table

    table = Table(title="fruit — 鲜果团")
    headers = ["群", *(f"指标{n}" for n in range(19))]
    for header in headers:
        table.add_column(header)
    for group in ("团购一群", "团购二群", "合计"):
        table.add_row(group, *(f"¥{n}03.70" for n in range(19)))
    out = io.StringIO()
    print_table(table, console=Console(file=out, width=100, force_terminal=True, color_system=None))
    text = out.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 100
    header_line = next(line for line in text.splitlines() if "团购一群" in line)
    assert "团购二群" in header_line and "合计" in header_line  # the groups are the columns now
    assert all(f"指标{n}" in text for n in range(19)) and "¥1803.70" in text
