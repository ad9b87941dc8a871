"""Leaders' own FAQ entries, followed from other account processes (several accounts: docs/deploy.md).

`/faq add` reaches the process serving the group, which keeps its memory current; another
process learns the entry only at its next start. That matters when the group moves: a standby
that takes a group over (its primary's process is gone) must answer with the entries its
leaders added there meanwhile. So each process follows `faq_custom` once a second
(`bot.shared_state`): a look at the id high-water and the count (the primary key's index), and
the whole table, which leaders fill by hand, only when those moved.

Only groups whose entries differ from the previous read are replaced: an entry this process
added or removed after the read began is already in memory, and an older read must not undo it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.context import Services
from handlers.faq.memory import Custom, load_state
from handlers.faq.store import FaqStore
from handlers.faq.tables import FaqCustom

Entries = dict[str, Custom]
TABLE = FaqCustom.__table__  # type: ignore[attr-defined]


def signature(engine: Engine) -> tuple[int, int]:
    """(highest id, rows): an add raises the first, a removal lowers the second."""
    with engine.connect() as conn:
        top, rows = conn.execute(select(func.max(TABLE.c.id), func.count())).one()
    return int(top or 0), int(rows)


@dataclass
class FaqShared:
    """`bot.shared_state.SharedState` of the groups' own entries. `seen` lives in the sync's thread."""

    services: Services
    last: Entries
    seen: tuple[int, int] = (-1, -1)

    def read(self) -> Entries | None:
        engine = self.services.repo.engine
        now = signature(engine)
        if now == self.seen:
            return None  # nothing added or removed anywhere
        self.seen = now
        return FaqStore(engine).all_custom()

    def apply(self, found: Entries | None) -> None:
        if found is None:
            return
        custom = load_state(self.services).custom
        for group_id in found.keys() | self.last.keys():
            entries = found.get(group_id, ())
            if entries == self.last.get(group_id, ()):
                continue
            if entries:
                custom[group_id] = entries  # a new tuple: the group's matcher is chosen again
            else:
                custom.pop(group_id, None)
        self.last = found


__all__ = ["FaqShared", "signature"]
