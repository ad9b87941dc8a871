"""The outbox's pacing: when the account and each target may send again.

The per-target interval, the pause when switching targets, the per-minute rate,
the daily budget and the pause-then-slow-down after a frequency error. All of it
is arithmetic on the recent send history held in memory; only the daily count is
read from the table, once per day (and once at start-up).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loguru import logger

from bot.config import OutboxSettings
from bot.outbox_trouble import call_safely


@dataclass
class OutboxStats:
    queued: int = 0
    sent: int = 0
    replaced: int = 0
    failed: int = 0
    sent_today: int = 0
    frequency_errors: int = 0


class Pacing:
    """Send history and the limits computed from it."""

    def __init__(
        self,
        settings: OutboxSettings,
        tz: ZoneInfo,
        rng: random.Random,
        count_sent_since: Callable[[datetime], int],
        stats: OutboxStats,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.tz = tz
        self.rng = rng
        self.count_sent_since = count_sent_since
        self.last_to: dict[str, datetime] = {}
        self.recent: deque[datetime] = deque()
        self.last_target = ""
        self.last_sent_at: datetime | None = None
        self.switch_pause = 0.0
        self.paused_until: datetime | None = None
        self.slow_until: datetime | None = None
        self.freq_streak = 0
        self.day: tuple[int, int, int] | None = None
        self.warned_day: tuple[int, int, int] | None = None
        # Told when a target's last send changes (the chooser re-files the target under its new key).
        self.on_target_sent: Callable[[str], None] | None = None

    def restore(self, target: str, sent_at: datetime) -> None:
        """A send from before the (re)start, oldest first."""
        self.recent.append(sent_at)
        self.last_to[target] = sent_at
        self.last_target = target
        self.last_sent_at = sent_at
        if self.on_target_sent is not None:
            self.on_target_sent(target)

    def slow_factor(self, now: datetime) -> float:
        if self.slow_until is not None and now < self.slow_until:
            return self.settings.frequency_slowdown
        return 1.0

    def roll_day(self, now: datetime) -> None:
        local = now.astimezone(self.tz)
        day = (local.year, local.month, local.day)
        if day != self.day:
            self.day = day
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            self.stats.sent_today = self.count_sent_since(midnight)

    def next_day_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.tz)
        return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(
            now.tzinfo
        )

    def account_ready_at(self, now: datetime) -> datetime:
        """When the account may send again, before per-target rules."""
        ready = now
        if self.paused_until is not None and ready < self.paused_until:
            ready = self.paused_until
        while self.recent and (now - self.recent[0]).total_seconds() >= 60:
            self.recent.popleft()
        limit = max(1, int(self.settings.account_per_minute / self.slow_factor(now)))
        if len(self.recent) >= limit:
            ready = max(ready, self.recent[len(self.recent) - limit] + timedelta(seconds=60))
        if self.stats.sent_today >= self.settings.daily_budget:
            ready = max(ready, self.next_day_start(now))
        return ready

    def target_ready_at(self, target: str, now: datetime) -> datetime:
        ready = now
        last = self.last_to.get(target)
        if last is not None:
            ready = max(
                ready, last + timedelta(seconds=self.settings.group_interval_seconds * self.slow_factor(now))
            )
        if self.last_sent_at is not None and target != self.last_target:
            ready = max(ready, self.last_sent_at + timedelta(seconds=self.switch_pause))
        return ready

    def sent(self, target: str, now: datetime) -> None:
        """A message to `target` has left at `now`."""
        self.recent.append(now)
        self.last_to[target] = now
        self.last_target = target
        self.last_sent_at = now
        low, high = self.settings.switch_pause_seconds
        self.switch_pause = self.rng.uniform(low, high)
        self.freq_streak = 0
        self.stats.sent += 1
        self.stats.sent_today += 1
        if self.on_target_sent is not None:
            self.on_target_sent(target)

    def rate_limited(self, now: datetime) -> float:
        """WeChat said 操作过于频繁: pause everything, doubling per streak, then go slower; the pause."""
        self.freq_streak += 1
        self.stats.frequency_errors += 1
        pause = self.settings.frequency_pause_seconds * (2 ** (self.freq_streak - 1))
        self.paused_until = now + timedelta(seconds=pause)
        self.slow_until = self.paused_until + timedelta(minutes=self.settings.slowdown_minutes)
        return pause

    def check_budget(self, on_budget_warning: Callable[[int, int], None] | None) -> None:
        threshold = int(self.settings.daily_budget * self.settings.budget_warn_ratio)
        if self.stats.sent_today >= threshold and self.warned_day != self.day:
            self.warned_day = self.day
            logger.warning(
                "outbox: {} of the daily budget of {} messages used",
                self.stats.sent_today,
                self.settings.daily_budget,
            )
            call_safely(
                "on_budget_warning", on_budget_warning, self.stats.sent_today, self.settings.daily_budget
            )
