"""What the validator reports: a :class:`Problem` (one compiler-style line) or an :class:`Issue`.

Every stage of checking a campaign file (reading, pydantic validation, cross-field checks) turns
what it finds into an :class:`Issue` keyed by its path in the file; the loader then gives each a
line and column and prints it as a :class:`Problem`. These shared types live apart from the
stages so that each stage depends on them and on nothing of the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.campaign.positions import Loc, Position

__all__ = ["CampaignError", "Issue", "Loc", "Position", "Problem", "Where", "field_path", "format_problems"]

Where = Literal["value", "key", "container"]
"""Where an issue points: at the value, at its key, or at the mapping that lacks a key."""


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a campaign file, printed like a compiler error.

    ``line`` and ``column`` are 1-based; ``field`` is the path inside the file, e.g.
    ``products[0].price`` (empty for problems about the whole file).
    """

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field or '(file)'}: {self.message}"


class CampaignError(Exception):
    """A campaign file could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(format_problems(self.problems))


def format_problems(problems: Iterable[Problem]) -> str:
    """All problems, one per line, as ``file:line:column: field: message``."""
    return "\n".join(str(p) for p in problems)


def field_path(loc: Loc) -> str:
    """``("products", 0, "price")`` → ``products[0].price``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Issue:
    """A problem before it has a position."""

    loc: Loc
    message: str
    where: Where = "value"
    pos: Position | None = None
