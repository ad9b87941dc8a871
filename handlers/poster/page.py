"""The poster's blocks, stacked down the page, and how tall the page is.

Each block knows its height (a list block: for so many rows) and draws itself at a given top.
The page is as tall as its blocks, never shorter than the minimum (the spare height is spread
between the blocks, the footer stays at the bottom) and kept to the maximum by showing fewer
rows of the longest list, one at a time, down to one row each: a list that is cut ends with a
"…等N件" row. If even that does not fit, the page grows: nothing is ever drawn off the picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from handlers.poster.canvas import Canvas

GAP = 36  # between blocks
BOTTOM = 56  # below the footer


@dataclass(frozen=True)
class ListRow:
    """One row of a list: a name, and a figure drawn at the right ("" for none)."""

    name: str
    value: str


@dataclass
class Block:
    """A part of the page; `rows` > 0 for a list, whose height and drawing depend on rows shown."""

    height_of: Callable[[int], int]
    paint: Callable[[Canvas, int, int], None]
    rows: int = 0
    gap_before: int = GAP
    pinned: bool = False  # drawn at the bottom of the page (the footer)
    shown: int = field(init=False)

    def __post_init__(self) -> None:
        self.shown = self.rows

    @classmethod
    def fixed(cls, height: int, paint: Callable[[Canvas, int], None], **options: int | bool) -> Block:
        return cls(lambda _shown: height, lambda canvas, top, _shown: paint(canvas, top), **options)  # type: ignore[arg-type]

    @property
    def height(self) -> int:
        return self.height_of(self.shown)

    def draw(self, canvas: Canvas, top: int) -> None:
        self.paint(canvas, top, self.shown)


@dataclass
class Page:
    """The blocks, top to bottom."""

    blocks: list[Block]

    def natural_height(self) -> int:
        return sum(b.gap_before + b.height for b in self.blocks) + BOTTOM

    def fit_rows(self, max_height: int) -> None:
        """Show fewer rows of the longest list until the page fits `max_height` (or every list shows one)."""
        while self.natural_height() > max_height:
            lists = [b for b in self.blocks if b.shown > 1]
            if not lists:
                return
            max(lists, key=lambda b: b.shown).shown -= 1

    def draw(self, canvas: Canvas, height: int) -> None:
        """Draw every block; the spare height (`height` beyond the natural one) goes between blocks."""
        flowing = [b for b in self.blocks if not b.pinned]
        stretchable = [b for b in flowing if b.gap_before > 0]
        spare = max(0, height - self.natural_height())
        share, left_over = divmod(spare, len(stretchable)) if stretchable else (0, 0)
        top = 0
        for block in flowing:
            top += block.gap_before
            if block in stretchable:
                top += share + (1 if left_over > 0 else 0)
                left_over -= 1
            block.draw(canvas, top)
            top += block.height
        bottom = height - BOTTOM
        for block in reversed([b for b in self.blocks if b.pinned]):
            bottom -= block.height
            block.draw(canvas, bottom)
            bottom -= block.gap_before


def plan_height(page: Page, min_height: int, max_height: int) -> int:
    """The page's height: its rows cut to `max_height` where lists allow, at least `min_height`."""
    page.fit_rows(max_height)
    return max(min_height, page.natural_height())


__all__ = ["BOTTOM", "GAP", "Block", "ListRow", "Page", "plan_height"]
