"""The 接龙 lines the order writer read back last, kept so that a batch reads only what it changed.

Why: after each batch the writer reads back the lists of the groups it touched, for the queued
list posts to render as they leave (`handlers/selling/chain.py`). Late in a busy sale a batch read
thousands of lines (half a megabyte of JSON) to learn about a few dozen new orders, and decoding
them was most of the writer thread's share of the interpreter lock (docs/performance.md). Kept
here, a group's lines are re-read only for the members whose orders the batch changed: a
member's lines in a group depend on that member's orders there alone.

Only on SQLite, where one bot process holds the database (`bot/storage/lease.py`) and every order
it holds is written by this writer (`handlers/selling/batch.py`), so no line changes unseen.
Several accounts share a PostgreSQL database, and a group can move between their processes:
there every batch reads its groups' lists whole, as before. Bounded: the least recently touched
groups are forgotten (`MAX_GROUPS`) and read whole the next time.
"""

from __future__ import annotations

from operator import attrgetter

from cachetools import LRUCache
from sqlalchemy.engine import Connection

from handlers.selling.chain_read import chains_of, member_lines
from handlers.selling.ops import ChainEntry

MAX_GROUPS = 5_000
_FIRST = attrgetter("first_id")

Lines = dict[tuple[str, str], ChainEntry]  # (member, product) -> line


class ChainCache:
    """Each kept group's lines by member and product; used by the order writer's thread only."""

    def __init__(self, *, keep: bool, max_groups: int = MAX_GROUPS) -> None:
        """`keep`: SQLite (see the module's docstring); otherwise every read is whole."""
        self.keep = keep
        self._groups: LRUCache[tuple[str, str], Lines] = LRUCache(maxsize=max_groups)

    def read(
        self, conn: Connection, campaign_id: str, members_by_group: dict[str, set[str]]
    ) -> dict[str, list[ChainEntry]]:
        """Each group's list (in order of the first order) after a batch changed the orders of
        `members_by_group`; reads only their lines in the groups already kept."""
        if not self.keep:
            return chains_of(conn, campaign_id, list(members_by_group), one_row=False)
        try:
            return self._read(conn, campaign_id, members_by_group)
        except BaseException:  # the batch is committed but unseen here: read these groups whole next time
            for group_id in members_by_group:
                self._groups.pop((campaign_id, group_id), None)
            raise

    def _read(
        self, conn: Connection, campaign_id: str, members_by_group: dict[str, set[str]]
    ) -> dict[str, list[ChainEntry]]:
        kept = {g: m for g, m in members_by_group.items() if (campaign_id, g) in self._groups}
        unknown = [g for g in members_by_group if g not in kept]
        out: dict[str, list[ChainEntry]] = {}
        if unknown:
            whole = chains_of(conn, campaign_id, unknown, one_row=True)
            for group_id in unknown:
                entries = whole.get(group_id, [])
                self._groups[(campaign_id, group_id)] = {(e.member_id, e.product_code): e for e in entries}
                out[group_id] = entries
        if kept:
            fresh = member_lines(conn, campaign_id, kept)
            for group_id, members in kept.items():
                lines = self._groups[(campaign_id, group_id)]
                for key in [key for key in lines if key[0] in members]:
                    del lines[key]
                for entry in fresh.get(group_id, ()):
                    lines[(entry.member_id, entry.product_code)] = entry
                out[group_id] = sorted(lines.values(), key=_FIRST)
        return out


__all__ = ["MAX_GROUPS", "ChainCache"]
