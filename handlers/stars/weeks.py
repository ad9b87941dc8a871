"""Which week is which: a week ends on `stars.weekday` at `stars.at`, in the bot's timezone.

The week that ends there is named by its local end date (`2026-12-06`): the key of its awards and
of the points ledger's ref, so a restart or a rerun names the same week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config_stars import StarSettings


@dataclass(frozen=True)
class Week:
    start: datetime  # included
    end: datetime  # not included: the announcement moment

    @property
    def key(self) -> str:
        return self.end.date().isoformat()


def last_end(settings: StarSettings, now: datetime, timezone: str) -> datetime:
    """The latest week end at or before `now` (local, aware)."""
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    hour, minute = (int(part) for part in settings.at.split(":"))
    days_back = (local.isoweekday() - settings.weekday) % 7
    day = (local - timedelta(days=days_back)).date()
    end = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if end > local:
        end = datetime.combine(day - timedelta(days=7), time(hour, minute), tzinfo=tz)
    return end


def finished_week(settings: StarSettings, now: datetime, timezone: str) -> Week:
    """The last week that has ended by `now`."""
    end = last_end(settings, now, timezone)
    return Week(_week_before(end), end)


def current_week(settings: StarSettings, now: datetime, timezone: str) -> Week:
    """The week running at `now` (its end is the next announcement)."""
    start = last_end(settings, now, timezone)
    end = datetime.combine(start.date() + timedelta(days=7), start.timetz())
    return Week(start, end)


def _week_before(end: datetime) -> datetime:
    """Seven local days earlier, at the same wall-clock time (a DST change keeps the hour)."""
    return datetime.combine(end.date() - timedelta(days=7), end.timetz())


__all__ = ["Week", "current_week", "finished_week", "last_end"]
