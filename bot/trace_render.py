"""How a `bot.trace_log` line reads in each sink: the same shapes loguru writes.

Runs in the sinks' writer threads, never on the event loop. A line carries no source
line number (that is what loguru's frame lookup costs), so `{name}:{function}` stands
where loguru writes `{name}:{function}:{line}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.trace_log import LEVEL_NAMES, TraceLine


def _stamp(line: TraceLine, zone: ZoneInfo | None) -> datetime:
    return datetime.fromtimestamp(line.at, zone) if zone else datetime.fromtimestamp(line.at).astimezone()


_seconds: dict[tuple[ZoneInfo | None, int], str] = {}  # the date and time of the current second


def _file_stamp(at: float, zone: ZoneInfo | None) -> str:
    """`2026-12-03 14:05:01.123`; the part up to the second is formatted once per second."""
    second = int(at)
    key = (zone, second)
    prefix = _seconds.get(key)
    if prefix is None:
        if len(_seconds) > 8:
            _seconds.clear()
        stamp = datetime.fromtimestamp(second, zone) if zone else datetime.fromtimestamp(second).astimezone()
        prefix = _seconds[key] = stamp.strftime("%Y-%m-%d %H:%M:%S")
    return f"{prefix}.{int((at - second) * 1000):03d}"


def ids(extra: Mapping[str, object]) -> str:
    """` | msg_id=m1 group=g1`: the ids a line is bound with, to find one message's lines by
    (`grep msg_id=m1`); empty for a line bound with none."""
    if not extra:
        return ""
    return " | " + " ".join(f"{key}={value}" for key, value in extra.items())


def file_line(line: TraceLine, zone: ZoneInfo | None) -> str:
    """`2026-12-03 14:05:01.123 | INFO     | bot.inbound:record - inbound 王姐: 收到 | msg_id=m1`."""
    level = LEVEL_NAMES.get(line.level, "INFO")
    return f"{_file_stamp(line.at, zone)} | {level: <8} | {line.origin} - {line.message()}{ids(line.extra)}\n"


def json_line(line: TraceLine, zone: ZoneInfo | None) -> str:
    """Loguru's `serialize=True` shape (`text` plus the record fields a reader filters on)."""
    at = _stamp(line, zone)
    level = LEVEL_NAMES.get(line.level, "INFO")
    name, _, function = line.origin.partition(":")
    message = line.message()
    record = {
        "extra": {key: str(value) for key, value in line.extra.items()},
        "function": function,
        "level": {"name": level, "no": line.level},
        "message": message,
        "module": name.rpartition(".")[2],
        "name": name,
        "time": {"repr": at.isoformat(), "timestamp": line.at},
    }
    text = f"{at.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]} | {level: <8} | {line.origin} - {message}\n"
    return json.dumps({"text": text, "record": record}, ensure_ascii=False) + "\n"


def console(line: TraceLine, zone: ZoneInfo | None, colour: bool) -> str:
    """The console format (`HH:MM:SS LEVEL name message | ids`), coloured like loguru's on a tty."""
    at = _stamp(line, zone).strftime("%H:%M:%S")
    level = f"{LEVEL_NAMES.get(line.level, 'INFO'): <7}"
    name = line.origin.partition(":")[0]
    text = f"{line.message()}{ids(line.extra)}"
    if colour:
        return f"\x1b[32m{at}\x1b[0m \x1b[1m{level}\x1b[0m \x1b[36m{name}\x1b[0m {text}\n"
    return f"{at} {level} {name} {text}\n"
