"""The keywords of every group's live red-packet bursts, in memory from start-up on.

The grab matcher runs on the event loop for every group message, chatter included, so
it must answer from memory and the memory must be complete: a message is a grab only
when its `core` is the keyword of a burst of its group that is open or ended less than
`LATE_GRACE` ago (`still_answers`, the rule `lookup.pick_burst` applies). So:

- `App.build` loads it in bulk (the feature's `setup`): one query for the bursts of all
  groups that are open or ended within `LATE_GRACE` (`RedPacketStore.live`);
- a burst this process starts is remembered as soon as it is stored, before its
  transaction commits and so before its announcement can leave the outbox;
- a close in this process (the window-end job, a late grab, the last packet) is noted.

It may hold more than the rule finds, never less: every live burst of a group, not only
its newest `RECENT_BURSTS` as the stored read returns them, and a burst whose insert was
rolled back after it was remembered stays until it is pruned. Either costs only the
handler body, which applies the exact rule to the group's stored bursts (one read, in a
worker thread) and passes the message on when it finds none. Bound: entries are pruned
once they no longer answer (at most every `LATE_GRACE`, when a burst starts), so it holds
the bursts of the last two grace periods plus any still open, never an evicted guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.text import core

LATE_GRACE = timedelta(minutes=10)
"""How long after a burst ends its keyword still gets a "too late" instead of silence."""


def still_answers(status: str, closes_at: datetime, closed_at: datetime | None, now: datetime) -> bool:
    """Whether a burst's keyword is still a grab: open, or ended less than `LATE_GRACE` ago."""
    return status == "open" or (closed_at or closes_at) + LATE_GRACE > now


@dataclass(frozen=True)
class LiveBurst:
    """What the matcher knows of a burst: its normalised keyword and whether it still answers."""

    id: str
    group_id: str
    said: str  # core(keyword): what a member's message is compared with
    opened_at: datetime
    closes_at: datetime
    status: str = "open"
    closed_at: datetime | None = None

    @classmethod
    def of(
        cls,
        *,
        id: str,
        group_id: str,
        keyword: str,
        opened_at: datetime,
        closes_at: datetime,
        status: str = "open",
        closed_at: datetime | None = None,
    ) -> LiveBurst:
        return cls(id, group_id, core(keyword), opened_at, closes_at, status, closed_at)

    def answers(self, now: datetime) -> bool:
        return still_answers(self.status, self.closes_at, self.closed_at, now)


Keywords = dict[str, tuple[LiveBurst, ...]]  # core(keyword) -> its bursts, newest first


class BurstKeywords:
    """Per group, the live bursts by keyword. Written on the loop; each group's map is
    replaced whole (copy on write), so a reader never sees one half-updated."""

    def __init__(self) -> None:
        self.groups: dict[str, Keywords] = {}  # read by the matcher; written only through the methods
        self._group_of: dict[str, str] = {}  # burst id -> group, for closes that name only the burst
        self._pruned_at: datetime | None = None

    def load(self, bursts: Iterable[LiveBurst], now: datetime) -> None:
        """Everything the bulk read found (replaces what was known)."""
        self.groups.clear()
        self._group_of.clear()
        for burst in bursts:
            self._put(burst)
        self._pruned_at = now

    def remember(self, burst: LiveBurst, now: datetime) -> None:
        """A burst this process just stored: its keyword is a grab from now on."""
        if self._pruned_at is None or now - self._pruned_at >= LATE_GRACE:
            self.prune(now)
        self._put(burst)

    def closed(self, burst_id: str, now: datetime) -> None:
        """A burst ended here (its job, a late grab, or its last packet): late grabs get "too late"."""
        group_id = self._group_of.get(burst_id)
        if group_id is None or not (keywords := self.groups.get(group_id)):
            return
        for said, bursts in keywords.items():
            if any(b.id == burst_id for b in bursts):
                ended = tuple(
                    replace(b, status="closed", closed_at=now) if b.id == burst_id else b for b in bursts
                )
                self.groups[group_id] = {**keywords, said: ended}
                return

    def match(self, group_id: str, said: str, now: datetime) -> LiveBurst | None:
        """The newest burst of the group whose keyword `said` is and that still answers."""
        keywords = self.groups.get(group_id)
        if not keywords:
            return None
        for burst in keywords.get(said, ()):
            if burst.answers(now):
                return burst
        return None

    def prune(self, now: datetime) -> None:
        """Forget bursts that no longer answer (ended more than `LATE_GRACE` ago)."""
        self._pruned_at = now
        for group_id, keywords in list(self.groups.items()):
            kept = {said: live for said, bursts in keywords.items() if (live := _answering(bursts, now))}
            for bursts in keywords.values():
                for burst in bursts:
                    if not burst.answers(now):
                        self._group_of.pop(burst.id, None)
            if kept:
                self.groups[group_id] = kept
            else:
                del self.groups[group_id]

    def __len__(self) -> int:
        return len(self._group_of)

    def _put(self, burst: LiveBurst) -> None:
        if not burst.said:  # a keyword of only punctuation or emoji: nothing a message can match
            return
        keywords = self.groups.get(burst.group_id, {})
        others = [b for b in keywords.get(burst.said, ()) if b.id != burst.id]
        ordered = sorted([burst, *others], key=lambda b: (b.opened_at, b.id), reverse=True)
        self.groups[burst.group_id] = {**keywords, burst.said: tuple(ordered)}
        self._group_of[burst.id] = burst.group_id


def _answering(bursts: tuple[LiveBurst, ...], now: datetime) -> tuple[LiveBurst, ...]:
    return tuple(b for b in bursts if b.answers(now))
