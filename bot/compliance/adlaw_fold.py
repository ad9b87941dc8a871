"""The form of a text the 广告法 lint matches: folded, with template variables blanked out.

Writers type full-width and half-width forms, upper and lower case, and spaces inside words
(「全 网 最 低 价」, 「ＮＯ．１」); the lint must see through that, yet report where the word is in
what they wrote. :func:`fold` therefore folds character by character (NFKC, casefold, whitespace
and invisible characters dropped) and keeps, for every folded character, the index of the
character it came from.

Template variables (``{{ sold }}``, ``{% if … %}``) are the bot's own, honest figures: they are
blanked out before matching, so 「已售 {{ sold }} 件」 is no invented sales claim and a variable's
name can never look like a banned word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.text import INVISIBLE

__all__ = ["BLANK", "Folded", "fold", "fold_word"]

BLANK = "\ue000"
"""What a template-variable character becomes: a private-use character no pattern matches."""

_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


@dataclass(frozen=True)
class Folded:
    """A folded text and, for each of its characters, the index in the original text."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` of the folded ``[start, end)`` (``end > start``)."""
        return self.origin[start], self.origin[end - 1] + 1


def _blank_templates(text: str) -> str:
    return _TEMPLATE.sub(lambda m: BLANK * len(m.group(0)), text)


def fold(text: str) -> Folded:
    """``text`` folded for matching, with the origin of each folded character."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(_blank_templates(text)):
        if INVISIBLE.match(char):
            continue
        for folded in unicodedata.normalize("NFKC", char).casefold():
            if not INVISIBLE.match(folded):
                out.append(folded)
                origin.append(index)
    return Folded("".join(out), tuple(origin))


def fold_word(word: str) -> str:
    """A word from a list or an allow entry, folded the same way (for comparing and escaping)."""
    return fold(word).text
