"""What a member's post breaks, judged from the post alone: links, cards, solicitations, banned
words, mass-@. Pure functions of the text (no state, no database), run on the event loop.

Why separate from the trackers: these are the checks an operator reads to know what is
forbidden, and they are tested one by one against real spam (tests/test_moderation_rules.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ruamel.yaml import YAML

from bot.privacy import mask_contacts
from bot.text import normalize as fold  # full/half width, case and spaces folded: 「加 Ｖ 信」 = 「加v信」

SHIPPED_WORDS = Path(__file__).resolve().parents[2] / "data" / "compliance" / "banned_words.yaml"
EVIDENCE_CHARS = 60

# Links: a scheme, www., or a bare domain with a common spam TLD (t.cn/abc, xx.top).
LINK_RE = re.compile(
    r"(?:https?://|www\.)\S+|(?<![\w.@])[a-z0-9][a-z0-9-]{0,62}\."
    r"(?:com|cn|net|top|xyz|vip|cc|me|io|shop|club|site|link|info|ltd|fun|icu)(?:/\S*)?(?![\w.])",
    re.IGNORECASE,
)
# "Add me" solicitations (加我微信 / 加V / vx / 私聊我), matched on the folded text (no spaces, lower).
SOLICIT_RE = re.compile(
    r"加我?(?:微信|威信|薇信|v信|vx|wx|v(?![a-z])|q(?![a-z])|qq)|私聊我|私我|(?<![a-z])(?:vx|wx|v信)[:：]?[a-z0-9_-]{5,}"
    r"|微信号|(?<![a-z])(?:vx|wx)(?![a-z])"
)
# Kinds of posts that need the links allowance, and the rule each one breaks.
CARD_RULES = {
    "link": "link",
    "mini_program": "mini_program",
    "contact_card": "contact_card",
    "qr_image": "qr",
}
ALLOWANCE_RULES = frozenset({"link", "mini_program", "contact_card", "qr", "solicit"})


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule a post broke, with the masked evidence for the leaders (never for the group)."""

    # link | mini_program | contact_card | qr | solicit | banned_word | mass_mention | flood | repeat | muted
    rule: str
    evidence: str = ""


def mask_evidence(text: str) -> str:
    """Evidence as leaders see it: contacts masked (a phone number in 加我微信), cut short."""
    masked = mask_contacts(" ".join(text.split()))
    return masked if len(masked) <= EVIDENCE_CHARS else masked[: EVIDENCE_CHARS - 1] + "…"


def card_rule(kind: str, text: str, folded: str) -> str:
    """The allowance rule a post breaks if over the allowance: a card, a link, a solicitation; '' if none."""
    if kind in CARD_RULES:
        return CARD_RULES[kind]
    if ("." in text or "://" in text) and LINK_RE.search(text):  # most chat has no dot: no regex
        return "link"
    if SOLICIT_RE.search(folded):
        return "solicit"
    return ""


class BannedWords:
    """One group's banned words, folded, found in a post by one compiled alternation."""

    __slots__ = ("_pattern", "words")

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = tuple(dict.fromkeys(w for w in (fold(x) for x in words) if w))
        ordered = sorted(self.words, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def find(self, folded: str) -> str:
        """The first banned word in the folded text, or ''."""
        if self._pattern is None:
            return ""
        match = self._pattern.search(folded)
        return match.group(0) if match else ""


@lru_cache(maxsize=4)
def shipped_words(path: Path = SHIPPED_WORDS) -> tuple[str, ...]:
    """Every word of the shipped list (categories flattened), read once per process."""
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    return tuple(str(word) for words in data.values() for word in (words or ()))
