"""The bot's own job bodies (not a feature's): module-level, imported by reference.

APScheduler's persistent job store imports them by name (`bot.jobs:job_health_check`), so
they stay here under these names.
"""

from __future__ import annotations

from bot.app import App
from schedules import runtime

JOB_HEALTH_CHECK = "bot.jobs:job_health_check"


async def job_health_check() -> None:
    """Every minute: long disconnects and a growing outbox backlog, reported to admins."""
    app: App = runtime.current(App)
    app.check_health()
