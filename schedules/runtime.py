"""The running bot's parts, for job bodies.

APScheduler persists jobs by reference to module-level functions with plain
arguments, so a job cannot carry the app with it. The app installs its parts here
when it starts (by type: its `Services`, and itself for bot-level checks); job bodies
look them up with `current(Services)`. Set once per process, at start-up.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

_installed: dict[type, Any] = {}


def install(*parts: object) -> None:
    for part in parts:
        _installed[type(part)] = part


def uninstall() -> None:
    _installed.clear()


def current(kind: type[T]) -> T:
    found: T | None = _installed.get(kind)
    if found is None:
        raise RuntimeError("no running tuanbot app: jobs run only inside `tuanbot run` or a rehearsal")
    return found
