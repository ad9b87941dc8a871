"""Turn ruamel.yaml parser events into plain Python, enforcing the reading limits as it goes.

:mod:`bot.campaign.reader` feeds the event stream here. Building the data ourselves (instead of
ruamel's recursive composer and constructors) is what lets every limit below be checked *before*
a hostile file costs memory or time; each refusal is a :class:`Stop` carrying a line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from bot.campaign.positions import Duplicate, Loc, Position, Positions

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_DIGITS", "MAX_ITEMS", "MAX_NODES", "Builder", "Stop"]

MAX_DEPTH = 16
"""The deepest path a campaign needs is 4 levels (``monitoring.conversion.threshold``)."""
MAX_ALIASES = 100
MAX_NODES = 20_000
"""Keys, values and list items after expanding aliases (the sample has about 400)."""
MAX_ITEMS = 1_000
"""Items in one list or keys in one mapping."""
MAX_DIGITS = 24
"""Longer whole numbers are certainly typos; they are read as 10**24 so the field's bound says so."""

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}
_RESOLVER = VersionedResolver()


class Stop(Exception):
    """A limit was passed or the YAML is malformed: reading stops at ``position``."""

    def __init__(self, position: Position, message: str, loc: Loc = ()) -> None:
        super().__init__(message)
        self.position = position
        self.message = message
        self.loc = loc


@dataclass
class _Frame:
    """A mapping or list being built, with what its parent needs to know about it."""

    value: dict[str, Any] | list[Any]
    loc: Loc
    anchor: str | None
    start: Position
    height: int = 1
    size: int = 1
    key: tuple[str, Position] | None = None
    expect_key: bool = True
    discard: bool = False
    merges: list[Any] = field(default_factory=list)
    first_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class _Anchored:
    value: Any
    height: int
    size: int


def _pos(event: Event) -> Position:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _int(text: str) -> int | str:
    body = text.replace("_", "")
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("+-")
    base = {"0x": 16, "0o": 8, "0b": 2}.get(body[:2].lower(), 10)
    digits = body[2:] if base != 10 else body
    if len(digits) > MAX_DIGITS:
        return sign * 10**MAX_DIGITS
    try:
        return sign * int(digits, base)
    except ValueError:
        return text


def _float(text: str) -> Decimal | float | str:
    body = text.replace("_", "").strip()
    lowered = body.lower()
    if lowered.endswith((".inf", ".nan")):
        return float(lowered.replace(".", "", 1))
    try:
        return Decimal(body)
    except ArithmeticError:
        return text


def _scalar(event: ScalarEvent, pos: Position, loc: Loc) -> Any:
    tag = event.tag
    if tag in (None, "!"):
        tag = str(_RESOLVER.resolve(ScalarNode, event.value, event.implicit))
    if tag not in _SCALAR_TAGS:
        raise Stop(
            pos, f"YAML tag '{_short_tag(str(tag))}' is not allowed in a campaign file; remove it", loc
        )
    text: str = event.value
    kind = tag.removeprefix(_TAG)
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() in ("true", "yes", "on", "y")
    if kind == "int":
        return _int(text)
    if kind == "float":
        return _float(text)
    return text


class Builder:
    """Turns parser events into plain Python, enforcing the limits as it goes."""

    def __init__(self) -> None:
        self.positions = Positions()
        self.duplicates: list[Duplicate] = []
        self.problems: list[tuple[Position, Loc, str]] = []
        self.anchors: dict[str, _Anchored | None] = {}
        self.stack: list[_Frame] = []
        self.nodes = 0
        self.aliases = 0
        self.root: Any = None
        self.documents = 0

    # -- where the next node goes
    def _child_loc(self) -> Loc | None:
        """Path of the node about to be placed, or None when it is a mapping key."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            return (*top.loc, len(top.value))
        if top.expect_key or top.key is None:
            return None  # a key, or the value of a key that was refused
        return (*top.loc, top.key[0])

    def _count(self, size: int, pos: Position) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            raise Stop(pos, f"the file expands to more than {MAX_NODES} values; split it or remove aliases")

    def _place(self, value: Any, pos: Position, height: int, size: int, *, block: bool) -> None:
        """Attach a finished node to its parent (as a key, a value or a list item)."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.height = max(top.height, height + 1)
        top.size += size
        if isinstance(top.value, list):
            loc = (*top.loc, len(top.value))
            if len(top.value) >= MAX_ITEMS:
                raise Stop(pos, f"more than {MAX_ITEMS} items in one list", top.loc)
            if not top.discard:
                self.positions.values[loc] = pos
            top.value.append(value)
            return
        if top.expect_key:
            top.expect_key = False
            if isinstance(value, dict | list):
                self.problems.append((pos, top.loc, "a key must be a plain word, not a list or mapping"))
                top.key = None
            else:
                top.key = ("" if value is None else str(value), pos)
            return
        top.expect_key = True
        if top.key is None or top.discard:
            return
        key, key_pos = top.key
        loc = (*top.loc, key)
        if key == "<<":
            top.merges.append(value)
            return
        if key in top.value:
            first = top.first_lines.get(key, key_pos[0])
            self.duplicates.append(Duplicate(loc, key_pos, first))
            return
        if len(top.value) >= MAX_ITEMS:
            raise Stop(pos, f"more than {MAX_ITEMS} keys in one mapping", top.loc)
        top.value[key] = value
        top.first_lines[key] = key_pos[0]
        self.positions.keys[loc] = key_pos
        self.positions.values[loc] = key_pos if value is None or block else pos

    def _check_depth(self, height: int, pos: Position) -> None:
        if len(self.stack) + height > MAX_DEPTH:
            raise Stop(pos, f"nested more than {MAX_DEPTH} levels deep; check the indentation")

    def _remember(self, anchor: str | None, value: Any, height: int, size: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = _Anchored(value, height, size)

    # -- events
    def feed(self, event: Event) -> None:
        pos = _pos(event)
        if isinstance(event, DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise Stop(pos, "YAML syntax error: only one document per file; remove the '---' line")
        elif isinstance(event, ScalarEvent):
            self._count(1, pos)
            loc = self._child_loc()
            value = _scalar(event, pos, loc if loc is not None else self.stack[-1].loc)
            if loc is None:
                value = event.value  # a key is the text as written: `5:` and `true:` are words here
            self._remember(event.anchor, value, 0, 1)
            self._place(value, pos, 0, 1, block=False)
        elif isinstance(event, AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise Stop(pos, f"more than {MAX_ALIASES} aliases (*name); write the values out")
            anchored = self.anchors.get(event.anchor, _MISSING)
            if anchored is _MISSING:
                raise Stop(pos, f"alias *{event.anchor} refers to no anchor &{event.anchor} above it")
            if anchored is None:
                raise Stop(pos, f"alias *{event.anchor} is inside its own anchor; that never ends")
            assert isinstance(anchored, _Anchored)
            self._check_depth(anchored.height, pos)
            self._count(anchored.size, pos)
            self._place(anchored.value, pos, anchored.height, anchored.size, block=False)
        elif isinstance(event, MappingStartEvent | SequenceStartEvent):
            self._start(event, pos)
        elif isinstance(event, MappingEndEvent | SequenceEndEvent):
            self._end()

    def _start(self, event: MappingStartEvent | SequenceStartEvent, pos: Position) -> None:
        is_map = isinstance(event, MappingStartEvent)
        expected = f"{_TAG}{'map' if is_map else 'seq'}"
        loc = self._child_loc()
        if event.tag not in (None, "!", expected):
            tag = _short_tag(str(event.tag))
            where = loc if loc is not None else self.stack[-1].loc
            raise Stop(pos, f"YAML tag '{tag}' is not allowed in a campaign file; remove it", where)
        self._count(1, pos)
        self._check_depth(1, pos)
        parent_discards = bool(self.stack) and self.stack[-1].discard
        frame = _Frame(
            {} if is_map else [],
            loc if loc is not None else (),
            event.anchor,
            pos,
            discard=loc is None or parent_discards,
        )
        if event.anchor is not None:
            self.anchors[event.anchor] = None  # in progress: an alias to it now would never end
        if loc is not None and not frame.discard:
            self.positions.values[loc] = pos
        self.stack.append(frame)

    def _end(self) -> None:
        frame = self.stack.pop()
        value: Any = frame.value
        if isinstance(value, dict) and frame.merges:
            value = self._merge(value, frame)
        self._remember(frame.anchor, value, frame.height, frame.size)
        self._place(value, frame.start, frame.height, frame.size, block=True)

    def _merge(self, value: dict[str, Any], frame: _Frame) -> dict[str, Any]:
        """``<<: *base`` (or a list of them): keys written here win over merged ones."""
        merged: dict[str, Any] = {}
        sources: list[Any] = []
        for item in frame.merges:
            sources.extend(item if isinstance(item, list) else [item])
        for source in sources:
            if not isinstance(source, dict):
                where = (
                    self.positions.key((*frame.loc, "<<"))
                    if (*frame.loc, "<<") in self.positions.keys
                    else (1, 1)
                )
                self.problems.append(
                    (where, frame.loc, "'<<' merges only mappings (&name of a 'key: value' block)")
                )
                continue
            for key, item in source.items():
                merged.setdefault(key, item)
        merged.update(value)
        return merged


_MISSING = object()
