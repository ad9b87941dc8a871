"""Drawing the poster: the picture, its shapes, and every text with the box it was drawn in.

The renderer (`handlers.poster.render`) decides where things go; this draws them and keeps,
for each text, the box Pillow says its glyphs cover (`ImageDraw.textbbox`) beside the slot the
layout gave it. Tests read those boxes: every one inside the picture and inside its slot, no
two overlapping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from io import BytesIO
from typing import Literal

from PIL import Image, ImageDraw, ImageFilter

from handlers.poster.fonts import font

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels
Align = Literal["left", "center", "right"]

_ANCHORS: dict[Align, str] = {"left": "la", "center": "ma", "right": "ra"}
SHADOW_SCALE = 4  # the shadow layer is blurred at a quarter of the size: the same look, far cheaper


def bold_stroke(size: int) -> int:
    """Pixels of stroke that thicken a bold line at `size`; a slot must be twice that wider."""
    return max(1, size // 40)


@dataclass(frozen=True)
class TextBox:
    """One text as drawn: its words, its glyphs' box, the slot it had to stay in, its size and role."""

    text: str
    box: Box
    slot: Box
    size: int
    role: str


@dataclass
class Canvas:
    """A picture being drawn, and the texts drawn on it so far."""

    width: int
    height: int
    background: RGB
    image: Image.Image = field(init=False)
    texts: list[TextBox] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.image = Image.new("RGB", (self.width, self.height), self.background)
        self.draw = ImageDraw.Draw(self.image)

    # -- shapes ----------------------------------------------------------------------------
    def gradient(self, box: Box, top: RGB, bottom: RGB) -> None:
        """A vertical gradient filling `box`."""
        left, upper, right, lower = box
        span = max(1, lower - upper - 1)
        column = Image.new("RGB", (1, lower - upper))
        for y in range(lower - upper):
            t = y / span
            column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
        self.image.paste(column.resize((right - left, lower - upper)), (left, upper))

    def shadow(self, box: Box, radius: int, *, offset: int = 10, blur: int = 28, strength: int = 46) -> None:
        """A soft shadow under a card at `box` (drawn before the card)."""
        scale = SHADOW_SCALE
        small = Image.new("L", (self.width // scale + 1, self.height // scale + 1), 0)
        left, top, right, bottom = (v // scale for v in box)
        ImageDraw.Draw(small).rounded_rectangle(
            (left, top + offset // scale, right, bottom + offset // scale), radius // scale, fill=strength
        )
        mask = small.filter(ImageFilter.GaussianBlur(blur / scale)).resize((self.width, self.height))
        self.image.paste((60, 30, 10), (0, 0), mask)

    def card(self, box: Box, radius: int, fill: RGB) -> None:
        self.draw.rounded_rectangle(box, radius, fill=fill)

    def rule(self, left: int, right: int, y: int, color: RGB, width: int = 2) -> None:
        self.draw.line((left, y, right, y), fill=color, width=width)

    def rule_vertical(self, x: int, top: int, bottom: int, color: RGB, width: int = 2) -> None:
        self.draw.line((x, top, x, bottom), fill=color, width=width)

    def dot(self, center: tuple[int, int], radius: int, fill: RGB) -> None:
        x, y = center
        self.draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)

    def bar(self, box: Box, fill: RGB) -> None:
        self.draw.rounded_rectangle(box, min(box[2] - box[0], box[3] - box[1]) // 2, fill=fill)

    # -- text ----------------------------------------------------------------------------
    def text(
        self,
        text: str,
        slot: Box,
        size: int,
        color: RGB,
        *,
        role: str,
        align: Align = "left",
        bold: bool = False,
        top: int | None = None,
    ) -> TextBox:
        """Draw one line in `slot` (left, top, right, bottom): from the slot's top (or `top`), at
        its left edge, centre or right edge. `bold` thickens the strokes (the font has one weight)."""
        face = font(size)
        left, slot_top, right, _bottom = slot
        top = slot_top if top is None else top
        stroke = bold_stroke(size) if bold else 0  # the stroke widens each side: start that far in
        x = {"left": left + stroke, "center": (left + right) / 2, "right": right - stroke}[align]
        anchor = _ANCHORS[align]
        self.draw.text(
            (x, top), text, font=face, fill=color, anchor=anchor, stroke_width=stroke, stroke_fill=color
        )
        ink = self.draw.textbbox((x, top), text, font=face, anchor=anchor, stroke_width=stroke)
        box = (math.floor(ink[0]), math.floor(ink[1]), math.ceil(ink[2]), math.ceil(ink[3]))
        drawn = TextBox(text, box, slot, size, role)
        self.texts.append(drawn)
        return drawn

    def png(self) -> bytes:
        """The picture as PNG bytes."""
        buffer = BytesIO()
        self.image.save(buffer, format="PNG", optimize=False, compress_level=6)
        return buffer.getvalue()


__all__ = ["RGB", "Align", "Box", "Canvas", "TextBox", "bold_stroke"]
