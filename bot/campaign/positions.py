"""Where each key and value of a campaign file is: paths mapped to ``(line, column)``.

The YAML reader records these positions while it builds the data, and the validator points every
problem at them; both sides need the same small types, so they live here rather than in either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Duplicate", "Loc", "Position", "Positions"]

Loc = tuple[str | int, ...]
Position = tuple[int, int]


@dataclass
class Positions:
    """1-based positions of every key and value, by path (``("products", 0, "price")``)."""

    keys: dict[Loc, Position] = field(default_factory=dict)
    values: dict[Loc, Position] = field(default_factory=dict)

    def value(self, loc: Loc) -> Position:
        """Where the value at ``loc`` is, or its nearest ancestor's if it does not exist."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.values:
                return self.values[loc[:end]]
        return (1, 1)

    def key(self, loc: Loc) -> Position:
        """Where the key of ``loc`` is (falls back to the value)."""
        return self.keys.get(loc) or self.value(loc)

    def container(self, loc: Loc) -> Position:
        """Where to point for "this mapping lacks a key": the key it sits under, or the item."""
        if loc and isinstance(loc[-1], str) and loc in self.keys:
            return self.keys[loc]
        return self.value(loc)


@dataclass(frozen=True)
class Duplicate:
    """A key written twice in one mapping; the first one is kept."""

    loc: Loc
    position: Position
    first_line: int
