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

from loguru import logger

from bot.outbox import Outbox
from bot.vocab import Priority

NOTICE_WINDOW = 3.0  # seconds: refusals and partial fills gathered into one post
PREOPEN_KIND = "preopen"
ROWS_KEPT = 1_024  # rendered rows of notice posts, their names left out (`NoticeBoard._line`)
_NAMES, _OTHER = "\x00names\x00", "\x00other\x00"  # stand-ins no display name contains
"""Outbox kind of the "还没开团哦" replies: their own post, dropped if still queued when the group opens."""


@dataclass(frozen=True)
class Notice:
    kind: str
    member_id: str
    name: str
    data: tuple[tuple[str, Any], ...] = ()


@dataclass
class _Row:
    """The names of one row of a post (a kind of notice with its data), and them joined."""

    names: dict[str, None] = field(default_factory=dict)
    who: str = ""


@dataclass
class _Rolling:
    """A post's notices, kept grouped as they come (a busy post had hundreds: regrouping them
    all at every new one was most of the post's cost)."""

    outbox_id: int | None = None
    items: list[Notice] = field(default_factory=list)
    rows: dict[tuple[str, tuple[tuple[str, Any], ...]], _Row] = field(default_factory=dict)
    mentions: dict[str, None] = field(default_factory=dict)

    def add(self, new: list[Notice]) -> _Rolling:
        self.items += new
        for item in new:
            row = self.rows.setdefault((item.kind, item.data), _Row())
            if item.name not in row.names:
                row.names[item.name] = None
                row.who = f"{row.who} @{item.name}" if row.who else item.name
            self.mentions[item.member_id] = None
        return self


class NoticeBoard:
    """The queued notice posts of every group."""

    def __init__(self, outbox: Outbox, render: Callable[..., str]) -> None:
        self.outbox = outbox
        self.render = render  # (template, **variables) -> text
        self.posts: dict[tuple[str, str], _Rolling] = {}  # (group, outbox kind) -> queued post
        self._rows: dict[tuple[Any, ...], str] = {}  # "": no stand-in; emptied at ROWS_KEPT

    def post(self, group_id: str, items: list[Notice]) -> None:
        """Add notices to the group's queued posts (pre-open replies apart), or start new ones."""
        for kind in ("notice", PREOPEN_KIND):
            mine = [item for item in items if (item.kind == "not_open") == (kind == PREOPEN_KIND)]
            if mine:
                self._roll(group_id, kind, mine)

    def _roll(self, group_id: str, kind: str, new: list[Notice]) -> None:
        state = self.posts.setdefault((group_id, kind), _Rolling())
        fresh = _Rolling()
        outbox_id = self.outbox.roll(
            state.outbox_id,
            # Grown in place: if the queued post has left meanwhile, `state` is dropped for `fresh`.
            lambda grow: self._post_text((state if grow else fresh).add(new)),
            group_id=group_id,
            delay=NOTICE_WINDOW,
            priority=Priority.ORDER,
            kind=kind,
        )
        if outbox_id != state.outbox_id:
            state = self.posts[(group_id, kind)] = fresh
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
        """The post that carries `items`: its text and whom it mentions."""
        return self._post_text(_Rolling().add(items))

    def _post_text(self, state: _Rolling) -> tuple[str, tuple[str, ...]]:
        lines = [self._line(kind, data, row) for (kind, data), row in state.rows.items()]
        return "\n".join(lines), tuple(state.mentions)

    def _line(self, kind: str, data: tuple[tuple[str, Any], ...], row: _Row) -> str:
        """One row of the post (the template renders each row on a line of its own).

        A waiting post is re-rendered at every new notice: late in a sale its rows were rendered
        again and again to add one name (a quarter of the event loop's time in the order writer's
        answers, docs/performance.md). So a row is rendered once with a stand-in for its names,
        and the names go in its place; a template whose row does more with the names than list
        them (`_with_names` finds out) is rendered for each post, as before."""
        key = (kind, data)
        line = self._rows.get(key)
        if line is None:
            if len(self._rows) >= ROWS_KEPT:  # rows are few (kinds × products): a bound, not a policy
                self._rows.clear()
            line = self._rows[key] = self._with_names(kind, data) or ""
        if line:
            return line.replace(_NAMES, row.who)
        return self.render("orders/notices.j2", rows=[{"kind": kind, "names": list(row.names), **dict(data)}])

    def _with_names(self, kind: str, data: tuple[tuple[str, Any], ...]) -> str | None:
        """The row rendered with a stand-in for its names, if the stand-ins of two names render
        as the two names joined by " @" would (else None)."""
        row = {"kind": kind, **dict(data)}
        one = self.render("orders/notices.j2", rows=[{**row, "names": [_NAMES]}])
        two = self.render("orders/notices.j2", rows=[{**row, "names": [_NAMES, _OTHER]}])
        if one.count(_NAMES) == 1 and two == one.replace(_NAMES, f"{_NAMES} @{_OTHER}"):
            return one
        return None
