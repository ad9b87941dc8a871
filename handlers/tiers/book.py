"""The tiers members hold, in memory: selling's `MemberPerks` provider.

Selling asks for a member's perks on the event loop for every order message, so the answer is a
dict lookup and a clock read: no statement. The book is loaded once at start-up (one indexed
read of `member_tiers`) and changed only after a recompute commits (a close's claim, `/tiers
recompute`), with the values that transaction wrote. Each member's entry keeps every tier they
meet with its own expiry, so a lapsing VIP falls to the tier below on time, from memory. With
several account processes the close runs in the scheduler's process (and `/tiers recompute` in
whichever the admin wrote to), so the others follow the table (`handlers.tiers.shared`): each
member's entry carries the `computed_at` it was taken at, and an older read never replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from bot.clock import Clock
from bot.config_tiers import Tier, TierSettings
from handlers.selling.perks import NO_PERKS, Perks
from handlers.tiers.rules import Held, current
from handlers.tiers.settled import SettledPerks


class TierBook:
    """Every member's held tiers (members at the base tier are absent); implements `MemberPerks`."""

    def __init__(self, settings: TierSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.ranks: dict[str, int] = {t.name: rank for rank, t in enumerate(settings.levels, start=1)}
        self._perks: dict[str, Perks] = {
            t.name: Perks(t.early_minutes, t.extra_limit, t.discount_percent, t.name) for t in settings.levels
        }
        self._held: dict[str, tuple[Held, ...]] = {}
        self._stamps: dict[str, datetime] = {}  # member -> computed_at of the entry held

    # -- MemberPerks ---------------------------------------------------------------------------
    def perks(self, member_id: str, campaign_id: str) -> Perks:
        """The member's perks now (the same in every campaign: tiers are the bot's, not a sale's)."""
        top = self.tier_of(member_id, self.clock.now())
        return self._perks[top.name] if top is not None else NO_PERKS

    def on(self, source: Engine | Connection) -> SettledPerks:
        """Perks for pricing: with the member discount a close settled (`handlers.tiers.settled`)."""
        return SettledPerks(self, source)

    # -- reads -----------------------------------------------------------------------------------
    def tier_of(self, member_id: str, now: datetime) -> Held | None:
        """The highest tier the member holds at `now`; None for the base tier."""
        held = self._held.get(member_id)
        return current(held, now) if held else None

    def level(self, held: Held | None) -> Tier | None:
        """The declared tier of a held one (its perks, its thresholds)."""
        return None if held is None else self.settings.levels[held.rank - 1]

    def next_level(self, held: Held | None) -> Tier | None:
        """The tier above `held` (the lowest declared tier above the base); None at the top."""
        rank = 0 if held is None else held.rank
        return self.settings.levels[rank] if rank < len(self.settings.levels) else None

    def counts(self, now: datetime) -> dict[str, int]:
        """Members per tier now, in declared order (the base tier is everyone else: not counted)."""
        found = dict.fromkeys(self.ranks, 0)
        for held in list(self._held.values()):  # a copy: a close may update the book from its thread
            top = current(held, now)
            if top is not None:
                found[top.name] += 1
        return found

    # -- changes (after a commit) ------------------------------------------------------------------
    def load(self, stored: Mapping[str, Iterable[Held]]) -> None:
        """Replace everything with stored rows; tiers no longer declared are dropped, ranks follow
        the config (a tier moved in the list keeps its members until the next recompute)."""
        self._held = {}
        self.update(stored)

    def update(self, held_by_member: Mapping[str, Iterable[Held]], at: datetime | None = None) -> None:
        """Set these members' tiers as a committed recompute wrote them (empty: back to base);
        `at`: the recompute's `computed_at`, so a follower's older read cannot undo it."""
        for member_id, held in held_by_member.items():
            if at is not None:
                self._stamps[member_id] = at
            ranked = (replace(h, rank=self.ranks[h.name]) for h in held if h.name in self.ranks)
            known = tuple(sorted(ranked, key=lambda h: h.rank))
            if known:
                self._held[member_id] = known
            else:
                self._held.pop(member_id, None)

    def stamp(self, member_id: str) -> datetime | None:
        """The `computed_at` of the member's entry, if this process took it from a recompute."""
        return self._stamps.get(member_id)

    def follow(self, changed: Mapping[str, tuple[datetime, Iterable[Held]]]) -> None:
        """Recomputes another process committed (`handlers.tiers.shared`): each member's whole
        entry, unless this book already holds one computed as late or later."""
        for member_id, (at, held) in changed.items():
            known = self._stamps.get(member_id)
            if known is None or at > known:
                self.update({member_id: held}, at)


__all__ = ["TierBook"]
