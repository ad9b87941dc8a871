"""The campaign commands an admin runs: validate, show, rehearse (through the real CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "tests" / "fixtures" / "sample_fixed.yaml"


def tuanbot(*args: str, cwd: Path = REPO, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(cwd)},
    )


def test_validate_sample_exits_zero() -> None:
    proc = tuanbot("campaign", "validate", str(SAMPLE))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok  fruit-2026-12")


def test_validate_broken_files_lists_every_problem_with_file_and_line() -> None:
    proc = tuanbot("campaign", "validate", str(REPO / "tests" / "data" / "broken"))
    assert proc.returncode == 1
    lines = [line for line in proc.stdout.splitlines() if line.startswith(str(REPO))]
    assert len(lines) > 20
    # file:line:column: field: message
    first = lines[0].removeprefix(str(REPO) + "/")
    path, line, column, rest = first.split(":", 3)
    assert path.startswith("tests/data/broken/") and line.isdigit() and column.isdigit() and ": " in rest
    assert "did you mean" in proc.stdout
    assert proc.stdout.rstrip().endswith("fix them and run again.")


def test_show_prints_timeline_per_group(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("sqlite:///data/tuanbot.db", f"sqlite:///{tmp_path}/t.db")
    text = text.replace("campaigns_dir: data/campaigns", f"campaigns_dir: {SAMPLE.parent}")
    config.write_text(text, encoding="utf-8")
    proc = tuanbot("campaign", "show", "fruit-2026-12", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    assert "countdown-T-10m" in proc.stdout and "2026-12-05 19:50 CST" in proc.stdout
    assert proc.stdout.count("pending") == 2 * 21  # 21 nodes, two groups
    missing = tuanbot("campaign", "show", "nope", "--config", str(config))
    assert missing.returncode == 1 and "no campaign 'nope'" in missing.stderr


def test_rehearse_sample_at_3600x_shows_every_node_in_order(tmp_path: Path) -> None:
    transcript = tmp_path / "out.jsonl"
    started = time.monotonic()
    proc = tuanbot("rehearse", str(SAMPLE), "--speed", "3600", "--transcript", str(transcript))
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert elapsed < 120
    entries = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    assert {"time", "t", "group", "sender", "text", "kind"} <= set(entries[0])
    kinds = [e["kind"] for e in entries if e["group"] == "团购一群"]
    expected = ["preheat"] * 3 + ["countdown", "redpacket", "countdown", "redpacket", "countdown", "open"]
    assert kinds[: len(expected)] == expected
    # Nobody orders in this rehearsal, so every broadcast has no news and stays quiet (issue 13.12):
    # the opening is followed by the close.
    assert kinds[len(expected)] == "close" and kinds.count("close") == 1 and kinds[-2:] == ["followup"] * 2
    assert "broadcast" not in kinds
    times = [e["time"] for e in entries]
    assert times == sorted(times)  # ISO times in one timezone sort as strings
    # bot time stands still while the bot works, so posts land on the second however busy the machine
    assert (entries[0]["time"], entries[0]["t"]) == ("2026-12-02T20:00:00+08:00", "T-3d")
    opening = next(e for e in entries if e["kind"] == "open")
    assert (opening["time"], opening["t"]) == ("2026-12-05T20:00:00+08:00", "T+0s")
    assert "on time" in proc.stdout and "never ran" not in proc.stdout


def test_validate_folder_reports_every_file_and_a_summary(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: x\nproducts: " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        SAMPLE.read_text(encoding="utf-8").replace("price: 59.90", "price: 1e308"), encoding="utf-8"
    )
    (tmp_path / "c.yaml").write_text(
        SAMPLE.read_text(encoding="utf-8").replace("id: fruit-2026-12", "id: other"), encoding="utf-8"
    )
    proc = tuanbot("campaign", "validate", str(tmp_path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{tmp_path}/a.yaml:2:" in proc.stdout and f"{tmp_path}/b.yaml:" in proc.stdout
    assert "ok  other" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("2 problem(s) in 2 file(s), 1 ok")


def test_validate_warns_of_two_campaigns_selling_in_one_group_at_once(tmp_path: Path) -> None:
    """The README's copy of the sample, left beside the sample, ran both in the same groups: orders
    went to one of them, red-packet rains and welcome coupons came twice (session 38's walk)."""
    (tmp_path / "a.yaml").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        SAMPLE.read_text(encoding="utf-8").replace("id: fruit-2026-12", "id: my-first"), encoding="utf-8"
    )
    proc = tuanbot("campaign", "validate", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a warning, not a problem
    [warning] = [line for line in proc.stdout.splitlines() if ": warning: " in line]
    assert warning.startswith(
        f"{tmp_path}/b.yaml: warning: sells in 团购一群, 团购二群 while 'fruit-2026-12'"
    )
    assert "move one file out of the campaigns folder" in warning
    assert proc.stdout.rstrip().endswith("2 file(s) ok, 1 warning(s)")


def test_validate_warns_of_a_group_config_yaml_does_not_know(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        SAMPLE.read_text(encoding="utf-8").replace("  - 团购二群\n", "  - 团购三群\n", 1),
        encoding="utf-8",
    )
    proc = tuanbot("campaign", "validate", str(tmp_path / "a.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        f"{tmp_path}/a.yaml: warning: groups[1]: '团购三群' is not a group in config.yaml; did you mean"
        in (proc.stdout)
    )
