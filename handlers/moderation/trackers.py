"""What moderation remembers between posts, in memory and bounded: floods, texts repeated across
groups, the daily links allowance, each member's strikes, and who is muted.

Why in memory: every group message passes here on the event loop, so no check may wait for the
database (issue 16, acceptance 4). Each map is an LRU with a cap, so a million chatty members
cost a fixed amount of memory; what is evicted is the least recently active member, whose
window would have expired anyway. Mutes and strikes are also in the audit log, and are read
back from it at start-up (`handlers.moderation.audit.load_memory`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lru import LRU

TRACKED_MEMBERS = 50_000  # (group, member) pairs per tracker
TRACKED_TEXTS = 20_000  # (member, text) pairs watched for repeats across groups
REPEAT_MIN_CHARS = 8  # shorter texts (好的, 收到, +1) are said everywhere by everyone
MAX_MUTES = 10_000

Key = tuple[str, str]  # (group id, member id)


class FloodTracker:
    """More than `limit` posts within `seconds` from one member in one group: one flood per burst."""

    def __init__(self, maxsize: int = TRACKED_MEMBERS) -> None:
        # (limit, the last limit + 1 post times): tuples of plain values, which the garbage
        # collector stops tracking, so its full passes do not walk one per chatty member.
        self._times: LRU[Key, tuple[int, tuple[datetime, ...]]] = LRU(maxsize)

    def add(self, key: Key, now: datetime, limit: int, seconds: float) -> bool:
        kept = self._times.get(key)
        before = kept[1][-limit:] if kept is not None and kept[0] == limit and limit > 0 else ()
        times = (*before, now)
        if len(times) > limit and (now - times[0]).total_seconds() <= seconds:
            self._times[key] = (limit, ())  # the burst is one violation; the next one starts counting afresh
            return True
        self._times[key] = (limit, times)
        return False


class RepeatTracker:
    """The same text from one member in `groups` groups within `seconds` (spam sent round)."""

    def __init__(self, maxsize: int = TRACKED_TEXTS) -> None:
        self._seen: LRU[Key, dict[str, datetime]] = LRU(maxsize)

    def add(
        self, member_id: str, folded: str, group_id: str, now: datetime, groups: int, seconds: float
    ) -> bool:
        key = (member_id, folded)
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = {}
        cutoff = now - timedelta(seconds=seconds)
        for gid in [g for g, at in seen.items() if at < cutoff]:
            del seen[gid]
        seen[group_id] = now
        return len(seen) >= groups


class Allowance:
    """Links, cards and solicitations each member may post in a group per day (`links_per_day`)."""

    def __init__(self, maxsize: int = TRACKED_MEMBERS) -> None:
        self._used: LRU[Key, tuple[date, int]] = LRU(maxsize)

    def take(self, key: Key, day: date, per_day: int) -> bool:
        """True if one more is allowed today (and count it)."""
        used_day, used = self._used.get(key, (day, 0))
        used = used if used_day == day else 0
        if used >= per_day:
            return False
        self._used[key] = (day, used + 1)
        return True


@dataclass(slots=True)
class Strikes:
    count: int
    last: datetime


class Ladder:
    """Each member's strikes per group; the count restarts `reset_hours` after the last strike."""

    def __init__(self, maxsize: int = TRACKED_MEMBERS) -> None:
        self._strikes: LRU[Key, Strikes] = LRU(maxsize)

    def strike(self, key: Key, now: datetime, reset_hours: float) -> int:
        """Count one violation; the member's step on the ladder (1, 2, 3, …)."""
        current = self._strikes.get(key)
        if current is None or now - current.last > timedelta(hours=reset_hours):
            current = Strikes(0, now)
        current.count += 1
        current.last = now
        self._strikes[key] = current
        return current.count

    def restore(self, key: Key, count: int, last: datetime) -> None:
        self._strikes[key] = Strikes(count, last)

    def forget(self, key: Key) -> None:
        self._strikes.pop(key, None)


class Mutes:
    """Who is muted where, until when (a leader's `/mute`). Expired mutes are dropped when seen."""

    def __init__(self) -> None:
        self._until: dict[Key, datetime] = {}

    def mute(self, key: Key, until: datetime) -> None:
        if len(self._until) >= MAX_MUTES and key not in self._until:
            self._until.pop(min(self._until, key=self._until.__getitem__))  # the one ending soonest
        self._until[key] = until

    def unmute(self, key: Key) -> bool:
        return self._until.pop(key, None) is not None

    def until(self, key: Key, now: datetime) -> datetime | None:
        """The mute's end if `key` is muted now."""
        until = self._until.get(key)
        if until is None:
            return None
        if until <= now:
            del self._until[key]
            return None
        return until

    def __bool__(self) -> bool:
        return bool(self._until)
