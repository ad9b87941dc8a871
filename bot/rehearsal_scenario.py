"""Rehearsal scenarios: member events replayed at offsets from T, and how offsets are printed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.campaign import Campaign, parse_time_spec
from bot.yaml_errors import yaml_problem


class ScenarioError(ValueError):
    """A scenario file that cannot be replayed; the message names the entry."""


@dataclass(frozen=True)
class ScenarioStep:
    at: datetime
    mark: str
    line: str


SHAPE = "expected a list of steps, each with 'at' (like T+1m) and 'line' (see data/scenarios/)"


def _read(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file; see data/scenarios/ for examples") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc}); save it as UTF-8 text") from None
    try:
        return YAML(typ="safe").load(text)
    except YAMLError as exc:
        line, column, reason = yaml_problem(exc)
        raise ScenarioError(f"{path}:{line}:{column}: YAML syntax error: {reason}") from None


def load_scenario(path: Path, campaign: Campaign) -> list[ScenarioStep]:
    """Read `- at: T+1m` / `line: "alice@团购一群: 接龙 A1 2"` entries, sorted by time."""
    data = _read(path) or []
    if isinstance(data, dict):
        if "steps" not in data:
            raise ScenarioError(
                f"{path}: {SHAPE} (a mapping needs 'steps:'; found {', '.join(map(str, data))})"
            )
        data = data["steps"] or []
    if not isinstance(data, list):
        raise ScenarioError(f"{path}: {SHAPE}")
    steps = []
    for index, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or "at" not in entry or "line" not in entry:
            raise ScenarioError(f"{path}: step {index}: needs 'at' (like T+1m) and 'line' (a simulator line)")
        try:
            spec = parse_time_spec(str(entry["at"]))
        except ValueError as exc:
            raise ScenarioError(f"{path}: step {index}: at: {exc}") from None
        lines = entry["line"] if isinstance(entry["line"], list) else [entry["line"]]
        for line in lines:
            steps.append(ScenarioStep(campaign.resolve(spec), str(entry["at"]), str(line)))
    return sorted(steps, key=lambda s: s.at)


def offset_label(delta: timedelta) -> str:
    """`T+2h7s`, `T-3d`; a moment seconds after a whole minute before T reads from that minute
    (`T-3d+2s`, not `T-2d23h59m58s`): nodes fall on whole minutes and their posts go out after."""
    seconds = math.floor(delta.total_seconds())  # whole seconds down, like the clock time beside it
    if seconds < -60 and seconds % 60:
        return f"{offset_label(timedelta(minutes=seconds // 60))}+{seconds % 60}s"
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    parts += f"{secs}s" if secs or not parts else ""
    return f"T{sign}{parts}"
