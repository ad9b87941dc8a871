"""Bot health: is the bot logged in, connected, keeping up with its outbox?

Alerts go privately to admins. A disconnect is reported only once it has
lasted `disconnect_alert_minutes` (puppet services drop and reconnect often,
and a message per blip would be noise), and its recovery only if it was
reported. Budget warnings come from the outbox itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import MonitoringSettings
from bot.events import TransportStatus

IMMEDIATE = {"login", "logout", "removed_from_group", "scan"}


@dataclass
class HealthNotice:
    template: str
    variables: dict[str, object]


@dataclass
class HealthMonitor:
    settings: MonitoringSettings
    disconnected_since: datetime | None = None
    disconnect_reported: bool = False
    backlog: deque[int] = field(default_factory=lambda: deque(maxlen=3))
    backlog_reported: bool = False

    def on_status(self, event: TransportStatus) -> list[HealthNotice]:
        notices = []
        if event.kind in IMMEDIATE:
            notices.append(
                HealthNotice(
                    "admin/transport_status.j2",
                    {"kind": event.kind, "detail": event.detail, "group": event.group_id},
                )
            )
        if event.kind in {"disconnected", "logout"} and self.disconnected_since is None:
            self.disconnected_since = event.time
        if event.kind in {"reconnected", "login"}:
            if self.disconnect_reported:
                notices.append(
                    HealthNotice(
                        "admin/transport_status.j2", {"kind": "reconnected", "detail": "", "group": ""}
                    )
                )
            self.disconnected_since = None
            self.disconnect_reported = False
        return notices

    def check(self, now: datetime, pending: int) -> list[HealthNotice]:
        """Periodic check (every minute): long disconnects and a growing outbox backlog."""
        notices = []
        limit = timedelta(minutes=self.settings.disconnect_alert_minutes)
        if (
            self.disconnected_since is not None
            and not self.disconnect_reported
            and now - self.disconnected_since >= limit
        ):
            self.disconnect_reported = True
            minutes = int((now - self.disconnected_since).total_seconds() // 60)
            notices.append(HealthNotice("admin/disconnected_long.j2", {"minutes": minutes}))
        self.backlog.append(pending)
        growing = (
            len(self.backlog) == self.backlog.maxlen
            and list(self.backlog) == sorted(self.backlog)
            and (self.backlog[-1] > self.backlog[0])
        )
        if pending >= self.settings.backlog_alert and growing and not self.backlog_reported:
            self.backlog_reported = True
            notices.append(HealthNotice("admin/backlog.j2", {"pending": pending}))
        elif pending < self.settings.backlog_alert // 2:
            self.backlog_reported = False
        return notices
