"""Hot-path log lines (one per message, one per queued reply) for the cost of a queue put.

Loguru builds a record for every call in the caller's thread: the frame, the time, the
thread and process, the formatting for each sink. At thousands of messages a second
that is a large share of the event loop, so the lines written for every message go
through `trace()` instead: it stamps the time, makes one tuple and puts it on the queue
of every sink that wants its level. The sinks' writer threads (`bot.logging_setup`)
format it exactly like a loguru line (`{time} | {level} | {origin} - {message}`, or
loguru's JSON shape), so the file reads the same and keeps one order with the other
lines. Everything else logs through loguru as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

DEBUG = 10
INFO = 20
LEVEL_NAMES = {DEBUG: "DEBUG", INFO: "INFO"}


class TraceLine(NamedTuple):
    """One line waiting in a sink's queue; formatted in the sink's thread."""

    at: float  # time.time()
    level: int
    origin: str  # "module:function", where loguru would say {name}:{function}
    template: str  # str.format template, filled in the writer thread
    args: tuple[Any, ...]
    extra: dict[str, Any]

    def message(self) -> str:
        return self.template.format(*self.args) if self.args else self.template


Put = Callable[[TraceLine], None]
_sinks: list[tuple[int, Put]] = []
_floor = 100  # no sink wants trace lines until `bot.logging_setup` registers one


def register(level: int, put: Put) -> None:
    """A sink that takes trace lines at `level` and above (called by `setup_logging`)."""
    global _floor
    _sinks.append((level, put))
    _floor = min(_floor, level)


def clear() -> None:
    global _floor
    _sinks.clear()
    _floor = 100


def wanted(level: int) -> bool:
    """Whether any sink takes this level (callers skip building arguments otherwise)."""
    return level >= _floor


def trace(level: int, origin: str, template: str, *args: Any, **extra: Any) -> None:
    """Queue one line for every sink that wants `level`; formatting happens in the sinks' threads."""
    if level < _floor:
        return
    line = TraceLine(time.time(), level, origin, template, args, extra)
    for floor, put in _sinks:
        if level >= floor:
            put(line)
