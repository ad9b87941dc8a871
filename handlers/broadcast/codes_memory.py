"""The broadcasts' codes in memory: read at start, and followed from other account processes.

The reply matcher and the board's link route answer from memory (`Broadcasts.code_in`,
`Broadcasts.link`). With several accounts a broadcast may be created in one process (the
leader's `/broadcast` reached it), sent by another (the scheduler's), and answered in a group a
third serves, so each process follows the table once a second (`BroadcastsShared`, a
`bot.shared_state.SharedState`): new broadcasts' codes are learnt, sent ones marked (clicks count
from then), cancelled ones forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from handlers.broadcast.tables import BROADCASTS, CANCELLED, GROUPS, SENT

if TYPE_CHECKING:
    from handlers.broadcast.service import Broadcasts


@dataclass(frozen=True)
class Codes:
    """Every broadcast not cancelled: its text, whether it was sent, and its code per group."""

    texts: dict[int, tuple[str, bool]]
    codes: dict[int, dict[str, str]]


def read_codes(engine: Engine, known: set[int] | frozenset[int] = frozenset()) -> Codes:
    """Every broadcast not cancelled; the per-group codes only of those not in `known` (codes
    never change, so a follower reads a broadcast's groups once, not every second)."""
    with engine.connect() as conn:
        texts = conn.execute(
            select(BROADCASTS.c.id, BROADCASTS.c.text, BROADCASTS.c.status).where(
                BROADCASTS.c.status != CANCELLED
            )
        ).all()
        new = [int(r[0]) for r in texts if int(r[0]) not in known]
        rows: list[Any] = []
        for start in range(0, len(new), 500):
            rows += conn.execute(
                select(GROUPS.c.group_id, GROUPS.c.code, GROUPS.c.broadcast_id).where(
                    GROUPS.c.broadcast_id.in_(new[start : start + 500])
                )
            ).all()
    codes: dict[int, dict[str, str]] = {}
    for group_id, code, broadcast_id in rows:
        codes.setdefault(int(broadcast_id), {})[group_id] = code
    return Codes({int(i): (text, status == SENT) for i, text, status in texts}, codes)


def apply_codes(book: Broadcasts, found: Codes, *, forget_missing: bool = False) -> None:
    """Learn what `found` has that memory lacks; with `forget_missing`, forget what it no longer
    has (cancelled since)."""
    known = book.known_ids()
    for broadcast_id, (text, sent) in found.texts.items():
        if broadcast_id not in known:
            book.remember(broadcast_id, found.codes.get(broadcast_id, {}), text)
        if sent:
            book.mark_sent(broadcast_id)
    if forget_missing:
        for broadcast_id in known - found.texts.keys():
            book.forget(broadcast_id)


@dataclass
class BroadcastsShared:
    book: Broadcasts

    def read(self) -> Codes:
        return read_codes(self.book.engine, self.book.known_ids())

    def apply(self, found: Codes) -> None:
        apply_codes(self.book, found, forget_missing=True)
