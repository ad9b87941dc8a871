"""The running app, for job bodies.

APScheduler persists jobs by reference to module-level functions with plain
arguments, so a job cannot carry the app with it. The app registers itself here
when it starts; job bodies look it up. Set once per process, at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App

_current: App | None = None


def set_app(app: App | None) -> None:
    global _current
    _current = app


def current_app() -> App:
    if _current is None:
        raise RuntimeError("no running tuanbot app: jobs run only inside `tuanbot run` or a rehearsal")
    return _current
