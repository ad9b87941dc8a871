"""The poster's one typeface, and the characters it can draw.

Noto Sans CJK SC (SIL Open Font License) comes inside the `mplfonts` package, so every machine
that `pip install`s the bot draws the same glyphs: no system font is ever looked for, and a
poster rendered in CI looks like one rendered on the leader's server. The font has no emoji:
a character it lacks would be drawn as an empty box (tofu), so `drawable` drops them, reading
the font's own character map (fontTools), before any text is measured or drawn.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import ImageFont

FONT_PACKAGE = "mplfonts"
FONT_FILE = "fonts/NotoSansCJKsc-Regular.otf"

_SPACES = re.compile(r"\s+")


@cache
def font_path() -> Path:
    """The font file inside the installed `mplfonts` package.

    Found through the package's import spec, not `importlib.resources.files`: that imports the
    package, whose `__init__` imports matplotlib (a second of start-up, and font caches written
    under the user's home). Only the file is wanted.
    """
    spec = importlib.util.find_spec(FONT_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / FONT_FILE
        if path.is_file():
            return path
    raise FileNotFoundError(f"{FONT_FILE} is not in the {FONT_PACKAGE} package: pip install {FONT_PACKAGE}")


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    """The font at `size` pixels. The basic layout engine: the same measurements with or
    without libraqm on the machine, and CJK needs no shaping."""
    return ImageFont.truetype(str(font_path()), size, layout_engine=ImageFont.Layout.BASIC)


@cache
def codepoints() -> frozenset[int]:
    """Every character the font has a glyph for (its best cmap), read once (about half a second)."""
    with TTFont(str(font_path()), lazy=True) as ttf:
        return frozenset(ttf.getBestCmap())


def drawable(text: str) -> str:
    """`text` as the font can draw it on one run: characters it lacks (emoji, their variation
    selectors and joiners) dropped, any run of white space (a line break too) one space."""
    have = codepoints()
    kept = "".join(
        ch if ord(ch) in have and unicodedata.category(ch) not in ("Cc", "Cf") else " "
        for ch in unicodedata.normalize("NFC", text)
    )
    return _SPACES.sub(" ", kept).strip()


def warm() -> None:
    """Load the character map and the common sizes now (start-up), not inside a node's transaction."""
    codepoints()
    font(40)


__all__ = ["FONT_FILE", "FONT_PACKAGE", "codepoints", "drawable", "font", "font_path", "warm"]
