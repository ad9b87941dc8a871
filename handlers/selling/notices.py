"""Order notices (refusals, partial fills, cancellations): one rolling post per group and window.

Each group has at most one queued notice post per outbox kind; new notices
re-render it with every item so far while it waits, and start a new post once
it has left (`Outbox.roll`). The items live only in this process, so a post is
replaced by its outbox id and never by a replace key: after a restart the outbox
still holds a post queued before it, and a key would let the first new notice
overwrite it with only the new items, so the members named before the restart
would never be told (issue 12.5).

"还没开团哦" replies go in their own post (kind `preopen`), which the opening
rewrites to "open now, order again" if it is still queued: a reply is never stale when it
leaves (issue 13.13), and the member whose early order was not taken is still told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from loguru import logger

from bot.outbox import Outbox
from bot.vocab import Priority

NOTICE_WINDOW = 3.0  # seconds: refusals and partial fills gathered into one post
PREOPEN_KIND = "preopen"
LINES_KEPT = 4_096  # rendered rows of waiting posts (`NoticeBoard._line`)
"""Outbox kind of the "还没开团哦" replies: their own post, dropped if still queued when the group opens."""


@dataclass(frozen=True)
class Notice:
    kind: str
    member_id: str
    name: str
    data: tuple[tuple[str, Any], ...] = ()


@dataclass
class _Rolling:
    outbox_id: int | None = None
    items: list[Notice] = field(default_factory=list)


class NoticeBoard:
    """The queued notice posts of every group."""

    def __init__(self, outbox: Outbox, render: Callable[..., str]) -> None:
        self.outbox = outbox
        self.render = render  # (template, **variables) -> text
        self.posts: dict[tuple[str, str], _Rolling] = {}  # (group, outbox kind) -> queued post
        self._lines: LRUCache[tuple[Any, ...], str] = LRUCache(maxsize=LINES_KEPT)

    def post(self, group_id: str, items: list[Notice]) -> None:
        """Add notices to the group's queued posts (pre-open replies apart), or start new ones."""
        for kind in ("notice", PREOPEN_KIND):
            mine = [item for item in items if (item.kind == "not_open") == (kind == PREOPEN_KIND)]
            if mine:
                self._roll(group_id, kind, mine)

    def _roll(self, group_id: str, kind: str, new: list[Notice]) -> None:
        state = self.posts.setdefault((group_id, kind), _Rolling())
        grown, fresh = state.items + new, list(new)
        outbox_id = self.outbox.roll(
            state.outbox_id,
            lambda grow: self._text(grown if grow else fresh),
            group_id=group_id,
            delay=NOTICE_WINDOW,
            priority=Priority.ORDER,
            kind=kind,
        )
        state.items = grown if outbox_id == state.outbox_id else fresh
        state.outbox_id = outbox_id

    def drop_preopen(self, group_id: str) -> None:
        """The group opens now: a "还没开团哦" still queued would be stale when it left.

        Its members still need an answer (their order was not taken), so the queued post is
        rewritten to say the sale is open now and to order again. A post queued before a
        restart, whose members this process does not know, is dropped instead.
        """
        state = self.posts.pop((group_id, PREOPEN_KIND), None)
        if state is not None and state.outbox_id is not None and state.items:
            opened = [Notice("opened_since", item.member_id, item.name) for item in state.items]
            text, mentions = self._text(opened)
            if self.outbox.replace(state.outbox_id, text, mentions):
                logger.bind(group=group_id).info("opening: a queued pre-open reply now says the sale is open")
                return
        dropped = self.outbox.cancel_queued(group_id=group_id, kind=PREOPEN_KIND)
        if dropped:
            logger.bind(group=group_id).info("opening: dropped {} queued pre-open reply post(s)", dropped)

    def _text(self, items: list[Notice]) -> tuple[str, tuple[str, ...]]:
        groups: dict[tuple[str, tuple[tuple[str, Any], ...]], list[str]] = {}
        mentions: dict[str, None] = {}
        for item in items:
            names = groups.setdefault((item.kind, item.data), [])
            if item.name not in names:
                names.append(item.name)
            mentions[item.member_id] = None
        lines = [self._line(kind, data, names) for (kind, data), names in groups.items()]
        return "\n".join(lines), tuple(mentions)

    def _line(self, kind: str, data: tuple[tuple[str, Any], ...], names: list[str]) -> str:
        """One row of the post (the template renders each row on a line of its own). A waiting post
        is re-rendered at every new notice, and late in a sale a post held dozens of rows of which
        one had changed: rendering them all again was 5 % of the event loop's time
        (docs/performance.md). So each row's line is kept, keyed by everything it shows."""
        key = (kind, data, tuple(names))
        line = self._lines.get(key)
        if line is None:
            line = self.render("orders/notices.j2", rows=[{"kind": kind, "names": names, **dict(data)}])
            self._lines[key] = line
        return line
