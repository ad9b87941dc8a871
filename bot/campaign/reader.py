"""Read campaign YAML into plain Python with the position of every key and value — at bounded cost.

The bot re-reads a campaign file whenever an admin saves it, on the live process, so reading must
never stall or crash it. ruamel.yaml's composer recurses once per nesting level and its
constructors expand aliases without limit (a 1 KB "billion laughs" file grew to 4.4 GB), and its
round-trip loader spends most of its time keeping comments we never write back. So this module
reads the *event stream* (ruamel's pure-Python parser, no recursion) and builds the data itself,
refusing — with a line and column — anything past the limits below before it costs more:

* the file size (:data:`MAX_FILE_BYTES`),
* the nesting depth (:data:`MAX_DEPTH`), including what an alias brings in,
* aliases (:data:`MAX_ALIASES`) and the expanded size of the document (:data:`MAX_NODES`),
* items in one list (:data:`MAX_ITEMS`), digits in one number,
* YAML tags other than the plain types (``!!python/object/apply`` and friends).

Values come out as campaign fields expect them: floats as exact ``Decimal`` from their source text
(``12.90`` stays 12.90 yuan), timestamps as text (one time parser, :mod:`bot.campaign.times`),
keys as text. Duplicate keys are collected (first one wins) instead of aborting the read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.campaign.positions import Duplicate, Loc, Position, Positions
from bot.campaign.yaml_builder import MAX_ALIASES, MAX_DEPTH, MAX_ITEMS, MAX_NODES, Builder, Stop
from bot.yaml_errors import yaml_problem

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_ITEMS",
    "MAX_NODES",
    "Duplicate",
    "Positions",
    "ReadResult",
    "read_yaml",
]

MAX_FILE_BYTES = 128 * 1024
"""A full campaign (the sample) is 8 KB; 128 KB leaves room for hundreds of products and FAQs."""


@dataclass
class ReadResult:
    """The document as plain Python (None when unreadable), positions, and what went wrong.

    ``problems`` are ``(position, path, message)``; when ``data`` is None the first one says why the
    file could not be read at all.
    """

    data: Any
    positions: Positions
    duplicates: list[Duplicate]
    problems: list[tuple[Position, Loc, str]]


def _deep_flow(text: str) -> Position | None:
    """Where a line opens more than :data:`MAX_DEPTH` ``[``/``{`` (outside quotes and comments).

    Checked before parsing because the YAML scanner looks ahead up to 1024 characters for every
    open bracket on a line, which costs seconds for ``[[[[…`` long before the depth limit is seen.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count("[") + line.count("{") <= MAX_DEPTH:
            continue
        depth, quote, previous = 0, "", " "
        for column, char in enumerate(line, start=1):
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"" and previous in " [{,:":
                quote = char
            elif char == "#" and previous in " \t":
                break
            elif char in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return (number, column)
            elif char in "]}":
                depth = max(0, depth - 1)
            previous = char
    return None


def read_yaml(text: str) -> ReadResult:
    """Parse campaign YAML within the limits; never raises for any input text."""
    builder = Builder()
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        message = f"file is {size // 1024} KB; a campaign file may be at most {MAX_FILE_BYTES // 1024} KB"
        return ReadResult(None, builder.positions, [], [((1, 1), (), message)])
    deep = _deep_flow(text)
    if deep is not None:
        message = f"brackets nested more than {MAX_DEPTH} levels deep on one line"
        return ReadResult(None, builder.positions, [], [(deep, (), message)])
    yaml = YAML(typ="safe", pure=True)
    try:
        for event in yaml.parse(text):
            builder.feed(event)
    except Stop as stop:
        return ReadResult(None, builder.positions, [], [(stop.position, stop.loc, stop.message)])
    except YAMLError as exc:
        line, column, reason = yaml_problem(exc)
        return ReadResult(None, builder.positions, [], [((line, column), (), f"YAML syntax error: {reason}")])
    return ReadResult(builder.root, builder.positions, builder.duplicates, builder.problems)
