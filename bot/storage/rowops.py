"""What the write-behind writer queues: row operations, their ranks, and how they wait.

A caller hands over a `RowOp` (a statement and one row). While it waits in the queue it is kept
as an `Entry` of plain values (`Shapes` numbers each (statement, keys) pair once): the garbage
collector stops tracking such a tuple at its first pass, so a backlog (the inbound log seconds
behind a flood) is not walked by every full pass, each of which holds the interpreter lock
(docs/performance.md). `commit_order` then decides the order a batch runs in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy.sql.base import Executable


@dataclass(frozen=True, slots=True)
class RowOp:
    """One statement with one row of parameters."""

    statement: Executable
    params: Mapping[str, Any]
    # Ops with a rank commute with every other ranked op of a batch (idempotent upserts of
    # different tables): the writer may run them sorted by rank, so that one `executemany`
    # takes all rows of a statement instead of one per alternation. None: a barrier that
    # keeps its place (a join, a leave: their order against their neighbours matters).
    rank: int | None = None


# The rank of a row appended to a log table of its own (an unanswered question, a moderation
# action): it commutes with the bookkeeping upserts, so it no longer splits their runs (a run
# cut into pieces costs one statement per piece, holding the write gate the order writer waits at).
APPEND_LOG_RANK = 100

# A queued op: (seq, its shape's number in `Shapes`, the row's values in the shape's key order,
# rank). A shape that could not be numbered (more than `MAX_SHAPES` of them) is kept as the op
# itself: (seq, op, None, rank).
Entry = tuple[int, "int | RowOp", "tuple[Any, ...] | None", "int | None"]
MAX_SHAPES = 1_024  # (statement, keys) pairs numbered per writer; statements are built once


class Shapes:
    """The (statement, keys) pairs one writer has numbered; not thread-safe: the writer's lock."""

    def __init__(self) -> None:
        self._shapes: list[tuple[Executable, tuple[str, ...]]] = []  # holds the statements alive
        self._number: dict[tuple[int, tuple[str, ...]], int] = {}

    def of(self, op: RowOp) -> tuple[int | RowOp, tuple[Any, ...] | None]:
        """How `op` waits in the queue: its shape's number and its values (see `Entry`)."""
        keys = tuple(op.params)
        number = self._number.get((id(op.statement), keys))
        if number is None:
            if len(self._shapes) >= MAX_SHAPES:
                return op, None
            number = len(self._shapes)
            self._shapes.append((op.statement, keys))
            self._number[(id(op.statement), keys)] = number
        return number, tuple(op.params.values())

    def run_of(self, run: list[Entry]) -> tuple[Executable, list[Mapping[str, Any]]]:
        """A run of entries of one statement, as its statement and rows (the writer's side)."""
        params: list[Mapping[str, Any]] = []
        statement: Executable | None = None
        for _, shape, values, _rank in run:
            if isinstance(shape, RowOp):
                statement = shape.statement
                params.append(shape.params)
            else:
                statement, keys = self._shapes[shape]
                params.append(dict(zip(keys, values or (), strict=True)))
        assert statement is not None
        return statement, params

    def values_run_of(
        self, run: list[Entry]
    ) -> tuple[Executable, tuple[str, ...], list[tuple[Any, ...]]] | None:
        """A run of entries of one statement as its statement, keys and rows of values (no
        mapping a row: the form a writer hands to another process); None for ops kept whole
        whose keys differ."""
        first = run[0][1]
        if not isinstance(first, RowOp):
            statement, keys = self._shapes[first]
            return statement, keys, [values for _, _, values, _ in run if values is not None]
        ops = [entry[1] for entry in run if isinstance(entry[1], RowOp)]
        keys = tuple(first.params)
        if len(ops) != len(run) or any(tuple(op.params) != keys for op in ops):
            return None
        return first.statement, keys, [tuple(op.params.values()) for op in ops]


def commit_order(batch: list[Entry]) -> list[Entry]:
    """The batch's ops in an order that keeps each barrier (rank None) in place and, between
    barriers, sorts the commuting ops by rank (stably: ops of one statement keep their order)."""
    ordered: list[Entry] = []
    run: list[Entry] = []
    for entry in batch:
        if entry[3] is None:
            run.sort(key=_rank)
            ordered += run
            run.clear()
            ordered.append(entry)
        else:
            run.append(entry)
    run.sort(key=_rank)
    return ordered + run


def runs_of(batch: list[Entry]) -> list[list[Entry]]:
    """The batch in `commit_order`, cut into runs of one statement (each becomes one statement or
    a few multi-row chunks)."""
    return [list(run) for _, run in groupby(commit_order(batch), key=statement_of)]


def _rank(entry: Entry) -> int:
    return entry[3] or 0


def statement_of(entry: Entry) -> object:
    """What groups a batch's entries into runs of one statement: the shape's number, or the
    statement itself for an op kept whole."""
    shape = entry[1]
    return id(shape.statement) if isinstance(shape, RowOp) else shape


__all__ = [
    "APPEND_LOG_RANK",
    "MAX_SHAPES",
    "Entry",
    "RowOp",
    "Shapes",
    "commit_order",
    "runs_of",
    "statement_of",
]
