"""Fitting text into the poster's slots by measuring it: wrap, shrink, then cut with an ellipsis.

Titles and product names come from campaign files and run from two characters to forty, so no
fixed size can fit them. Every text gets a slot (a width and at most so many lines) and a range
of sizes: it is wrapped at the largest size, and shrunk step by step until it fits; at the
smallest readable size whatever still does not fit is cut and ends with "…". Widths are the
font's own advances (`FreeTypeFont.getlength`), the figures Pillow draws with, so a line that
fits here is drawn inside its slot: nothing is clipped and nothing runs off the image.

Wrapping keeps a Latin word or a number whole when it can (`A1`, `99`, `3斤装`'s 3), breaks
Chinese between any two characters, and never starts a line with closing punctuation nor ends
one with opening punctuation (the usual 避头尾 rules).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ImageFont

from handlers.poster.fonts import font

ELLIPSIS = "…"
_ATOM = re.compile(r"[0-9A-Za-z][0-9A-Za-z.,:%+\-/']*|\s+|.", re.DOTALL)
_CLOSING = set("，。、；：？！）》」』】〕〉”’…·%,.;:?!)]}")
_OPENING = set("（《「『【〔〈“‘([{")
_SOFT = set(" ，。、；：？！）》」』】")
BALANCE_STEPS = 12
HARD_BREAK_COST = 0.3  # a break inside a phrase costs as much raggedness as 30% of the line


@dataclass(frozen=True)
class Fitted:
    """A text fitted to its slot: the size it is drawn at and its lines (the last may end with …)."""

    size: int
    lines: tuple[str, ...]

    @property
    def cut(self) -> bool:
        """Whether the text had to be shortened to fit."""
        return any(line.endswith(ELLIPSIS) for line in self.lines)


def line_height(size: int) -> int:
    """Pixels from one line's top to the next at `size`: the font's ascent plus descent, which
    bound every glyph drawn from the line's top (`anchor="la"`), so lines never overlap."""
    ascent, descent = font(size).getmetrics()
    return int(ascent + descent)


def width_of(text: str, size: int) -> float:
    return float(font(size).getlength(text))


def _atoms(text: str) -> list[str]:
    """Unbreakable pieces: a Latin word or number, a run of spaces, or one other character, with
    closing punctuation glued to the piece before it and opening punctuation to the one after."""
    atoms: list[str] = []
    pending_open = ""
    for piece in _ATOM.findall(text):
        if piece in _OPENING:
            pending_open += piece
            continue
        piece, pending_open = pending_open + piece, ""
        if piece[0] in _CLOSING and atoms and not atoms[-1].isspace():
            atoms[-1] += piece
        else:
            atoms.append(piece)
    if pending_open:
        atoms.append(pending_open)
    return atoms


def _split_long(atom: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """An atom wider than the line (a very long word), cut into pieces that each fit."""
    pieces: list[str] = []
    current = ""
    for ch in atom:
        if current and face.getlength(current + ch) > width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def _soft_break(current: str, face: ImageFont.FreeTypeFont, width: float) -> int | None:
    """Where `current` may break softly (after a space or a Chinese pause mark) past the middle of
    the line; None when it may not."""
    for index in range(len(current) - 1, 0, -1):
        if current[index - 1] in _SOFT and current[index] not in _SOFT:
            if face.getlength(current[:index].rstrip()) < width / 2:
                return None
            return index
    return None


def _wrap(text: str, size: int, width: float) -> list[tuple[str, bool]]:
    """The lines of `wrap`, each with whether it ended at a soft break (a space, a pause mark)."""
    face = font(size)
    lines: list[tuple[str, bool]] = []
    current = ""
    for atom in _atoms(text):
        if face.getlength((current + atom).rstrip()) <= width:
            current += atom
            continue
        soft = _soft_break(current, face, width)
        if soft is not None and face.getlength((current[soft:] + atom).strip()) <= width:
            lines.append((current[:soft].rstrip(), True))
            current = current[soft:].lstrip() + atom
            continue
        if current.strip():
            lines.append((current.rstrip(), current[-1] in _SOFT))
        atom = atom.lstrip()
        if face.getlength(atom) <= width:
            current = atom
            continue
        *whole, current = _split_long(atom, face, width) or [""]
        lines.extend((piece, False) for piece in whole)
    if current.strip():
        lines.append((current.rstrip(), True))
    return lines


def wrap(text: str, size: int, width: float) -> list[str]:
    """`text` in lines no wider than `width` at `size`, breaking only between atoms, and at a
    space or a pause mark (，、。) rather than inside a phrase when one is past the line's middle."""
    return [line for line, _soft in _wrap(text, size, width)]


def balance(text: str, size: int, width: float) -> list[str]:
    """`text` in as many lines as `wrap` makes at `width`, but as even as they can be without
    breaking inside a phrase where a soft break would do (no lone character on a last line)."""
    base = _wrap(text, size, width)
    if len(base) < 2:
        return [line for line, _soft in base]
    face = font(size)
    best: tuple[float, list[tuple[str, bool]]] | None = None
    for step in range(BALANCE_STEPS + 1):
        lines = _wrap(text, size, width * (1 - 0.5 * step / BALANCE_STEPS))
        if len(lines) != len(base):
            continue
        widths = [face.getlength(line) for line, _soft in lines]
        hard = sum(1 for _line, soft in lines[:-1] if not soft)
        score = max(widths) - min(widths) + hard * HARD_BREAK_COST * width
        if best is None or score < best[0]:
            best = (score, lines)
    return [line for line, _soft in (best[1] if best else base)]


def ellipsize(text: str, size: int, width: float) -> str:
    """`text` if it fits on one line, else its longest start that fits followed by "…"."""
    face = font(size)
    if face.getlength(text) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix p with p + "…" fitting
        middle = (low + high + 1) // 2
        if face.getlength(text[:middle].rstrip() + ELLIPSIS) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


def fit(text: str, width: float, max_lines: int, sizes: Sequence[int]) -> Fitted:
    """The largest of `sizes` (tried in order, largest first) at which `text` fits in `max_lines`
    lines of `width`; at the last size the lines that fit, the last one cut with "…"."""
    if not text:
        return Fitted(sizes[-1], ())
    for size in sizes:
        lines = wrap(text, size, width)
        if len(lines) <= max_lines:
            return Fitted(size, tuple(balance(text, size, width)))
    last, after = lines[max_lines - 1], lines[max_lines]
    latin = last[-1:].isascii() and last[-1:].isalnum() and after[:1].isascii() and after[:1].isalnum()
    cut = ellipsize(last + (" " if latin else "") + after, size, width)
    return Fitted(size, (*lines[: max_lines - 1], cut))


def sizes(largest: int, smallest: int, step: int = 2) -> tuple[int, ...]:
    """Sizes from `largest` down to `smallest` (both included) by `step`."""
    return (*range(largest, smallest, -step), smallest)


__all__ = ["ELLIPSIS", "Fitted", "balance", "ellipsize", "fit", "line_height", "sizes", "width_of", "wrap"]
