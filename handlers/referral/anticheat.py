"""反作弊风控: which invites look farmed, decided by pure rules over what the bot saw.

Each rule names a pattern of fake invites that operators meet; a flagged invite that would be
paid is held for the admins instead (never paid silently, never rejected silently):

- `left_early`: the invitee left the group within `LEAVE_WITHIN` of joining (join, order the
  cheapest item, leave: the reward farmed, the member gone).
- `silent_burst`: `BURST_SILENT` or more of one inviter's invitees joined within `BURST_WITHIN`
  and never sent a message by close (bought or borrowed accounts). The inviter's other invites
  of that hour are held too: one account of a farm often orders to look real.
- `seen_elsewhere`: the bot had seen the invitee in another of its groups before the join (a
  member shuffled between groups to be counted as new).
- `lookalike`: two invitees of one inviter with ids of one prefix and running numbers
  (`shop01`, `shop02`) or names that differ only by digits (`小王1`, `小王2`).

The rules read only the facts given (`Facts`), so each is tested without a database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

LEAVE_WITHIN = timedelta(hours=24)
BURST_WITHIN = timedelta(hours=1)
BURST_SILENT = 3
RUNNING_GAP = 5
"""Trailing numbers this close are a running series (`a01`, `a03`); farther apart, a coincidence."""
MIN_PREFIX = 2

LEFT_EARLY = "left_early"
SILENT_BURST = "silent_burst"
SEEN_ELSEWHERE = "seen_elsewhere"
LOOKALIKE = "lookalike"
RULES = (LEFT_EARLY, SILENT_BURST, SEEN_ELSEWHERE, LOOKALIKE)

_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")
_DIGITS = re.compile(r"[\d０-９\s]+")


@dataclass(frozen=True)
class Facts:
    """What the bot knows of one invite when its campaign closes."""

    invite_id: int
    inviter: str
    invitee: str
    name: str
    joined_at: datetime
    left_at: datetime | None = None
    seen_elsewhere: bool = False
    spoke: bool = True


def flags(invites: Iterable[Facts]) -> dict[int, tuple[str, ...]]:
    """Every rule each invite breaks (by invite id; an invite breaking none is absent)."""
    found: dict[int, list[str]] = {}
    facts = list(invites)

    def flag(invite: Facts, rule: str) -> None:
        rules = found.setdefault(invite.invite_id, [])
        if rule not in rules:
            rules.append(rule)

    for invite in facts:
        if left_early(invite):
            flag(invite, LEFT_EARLY)
    for invite in silent_bursts(facts):
        flag(invite, SILENT_BURST)
    for invite in facts:
        if invite.seen_elsewhere:
            flag(invite, SEEN_ELSEWHERE)
    for invite in lookalikes(facts):
        flag(invite, LOOKALIKE)
    return {k: tuple(sorted(v, key=RULES.index)) for k, v in found.items()}


def left_early(invite: Facts) -> bool:
    return invite.left_at is not None and invite.left_at - invite.joined_at < LEAVE_WITHIN


def _by_inviter(facts: Iterable[Facts]) -> dict[str, list[Facts]]:
    grouped: dict[str, list[Facts]] = {}
    for invite in facts:
        grouped.setdefault(invite.inviter, []).append(invite)
    return grouped


def silent_bursts(facts: Iterable[Facts]) -> list[Facts]:
    """Invites in a window of `BURST_WITHIN` in which one inviter brought `BURST_SILENT` or more
    invitees who never spoke: the silent ones and the inviter's other invites of that window."""
    flagged: dict[int, Facts] = {}
    for invites in _by_inviter(facts).values():
        ordered = sorted(invites, key=lambda f: (f.joined_at, f.invite_id))
        silent = [f for f in ordered if not f.spoke]
        for i, first in enumerate(silent):
            window = [f for f in silent[i:] if f.joined_at - first.joined_at <= BURST_WITHIN]
            if len(window) < BURST_SILENT:
                continue
            starts, ends = window[0].joined_at, window[-1].joined_at
            for f in ordered:
                if starts <= f.joined_at <= ends:
                    flagged[f.invite_id] = f
    return list(flagged.values())


def _numbered(member_id: str) -> tuple[str, int] | None:
    found = _NUMBERED.match(member_id)
    if found is None or len(found.group("prefix")) < MIN_PREFIX:
        return None
    return found.group("prefix"), int(found.group("number"))


def _name_skeleton(name: str) -> str:
    return _DIGITS.sub("", name)


def lookalike(a: Facts, b: Facts) -> bool:
    """Ids of one prefix with running numbers, or names equal but for their digits."""
    ida, idb = _numbered(a.invitee), _numbered(b.invitee)
    if ida and idb and ida[0] == idb[0] and abs(ida[1] - idb[1]) <= RUNNING_GAP:
        return True
    skeleton = _name_skeleton(a.name)
    return bool(skeleton) and a.name != b.name and skeleton == _name_skeleton(b.name)


def lookalikes(facts: Iterable[Facts]) -> list[Facts]:
    """Invites of one inviter that look like another of the same inviter's."""
    flagged: dict[int, Facts] = {}
    for invites in _by_inviter(facts).values():
        for i, a in enumerate(invites):
            for b in invites[i + 1 :]:
                if lookalike(a, b):
                    flagged[a.invite_id], flagged[b.invite_id] = a, b
    return list(flagged.values())


__all__ = [
    "BURST_SILENT",
    "BURST_WITHIN",
    "LEAVE_WITHIN",
    "LEFT_EARLY",
    "LOOKALIKE",
    "RULES",
    "SEEN_ELSEWHERE",
    "SILENT_BURST",
    "Facts",
    "flags",
    "left_early",
    "lookalike",
    "lookalikes",
    "silent_bursts",
]
