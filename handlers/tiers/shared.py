"""Tiers another account process recomputed, followed here (several accounts: docs/deploy.md).

Selling prices every order with `MemberPerks` from memory (`TierBook`), and the close that
recomputes the buyers' tiers runs in the scheduler's process, `/tiers recompute` in whichever
process the admin wrote to. So each process follows `member_tiers` once a second
(`bot.shared_state`), reading only what changed: first the members written since a moment
(`recomputed_since`, an index range on `computed_at`), then the rows of those whose entry here
is older. `computed_at` is the recompute's clock, taken before its commit, so the look goes back
`LOOK_BACK` behind the newest stamp seen: a long recompute that commits after a later one is
still found, and a member already followed costs one index entry, not a row.

A member recomputed to the base tier leaves no row: their entry here lapses at its own expiry,
which is when such a recompute drops it (orders count once their sale closed and never leave).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from handlers.tiers.book import TierBook
from handlers.tiers.rules import Held
from handlers.tiers.store import recomputed_since, stored

LOOK_BACK = timedelta(minutes=10)
"""Longer than a recompute's transaction (a close's chunk, an admin's recompute of everyone)."""

Changed = dict[str, tuple[datetime, list[Held]]]


@dataclass
class TiersShared:
    """`bot.shared_state.SharedState` of the tier book. `newest` lives in the peer sync's thread."""

    engine: Engine
    book: TierBook
    newest: datetime

    def read(self) -> Changed:
        with self.engine.connect() as conn:
            stamps = recomputed_since(conn, self.newest - LOOK_BACK)
            behind = [m for m, at in stamps.items() if (known := self.book.stamp(m)) is None or known < at]
            rows = stored(conn, behind) if behind else {}
        if stamps:
            self.newest = max(self.newest, *stamps.values())
        return {m: (stamps[m], rows.get(m, [])) for m in behind}

    def apply(self, changed: Changed) -> None:
        if changed:
            self.book.follow(changed)


__all__ = ["LOOK_BACK", "TiersShared"]
