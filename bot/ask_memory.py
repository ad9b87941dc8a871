"""Who was answered a moment ago: one answer (我的积分, 我的等级, 积分抵扣, 活跃之星 per member;
邀请排行 per group) per key within a short window, however often it is typed.

Why: in a busy group a member repeats a question while the answer is still queued, and each
answer is a private message counted against the account's limits. The memory is bounded (an
LRU of members) and lives in this process only: a restart forgets it, harmlessly.
Callers key it by question and member (``"tier:alice"``), so one memory serves every feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cachetools import LRUCache

__all__ = ["ASK_AGAIN", "AskMemory"]

ASK_AGAIN = timedelta(seconds=30)
MEMBERS_REMEMBERED = 50_000


@dataclass
class AskMemory:
    """When each (question, member) key was last answered; find it with `services.get_or_make`."""

    told: LRUCache[str, datetime] = field(default_factory=lambda: LRUCache(MEMBERS_REMEMBERED))

    def may_answer(self, key: str, now: datetime, again: timedelta = ASK_AGAIN) -> bool:
        """True (and remembered) unless `key` was answered less than `again` ago."""
        last = self.told.get(key)
        if last is not None and now - last < again:
            return False
        self.told[key] = now
        return True
