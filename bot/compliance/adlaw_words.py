"""The shipped 广告法 word list (``data/compliance/adlaw.yaml``), read once and compiled.

The list is data so that operators and reviewers can read and extend it without reading code;
this module only turns it into :class:`Rule` objects. A broken list is a packaging mistake and
fails loudly on first use (a test loads it), never silently lets every word through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML

from bot.compliance.adlaw_fold import fold_word

__all__ = ["DEFAULT_WORDS_FILE", "OPERATOR", "Category", "Rule", "WordList", "literal_rule", "shipped"]

DEFAULT_WORDS_FILE = Path(__file__).resolve().parents[2] / "data" / "compliance" / "adlaw.yaml"

OPERATOR = "运营自定"
"""The category of words an operator adds (``adlaw.extra``) without naming a shipped category."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    """A kind of claim: the law that forbids it and one sentence saying what it forbids."""

    law: str = Field(min_length=1)
    explain: str = Field(min_length=1)


class _Entry(_Strict):
    word: str = Field(min_length=1)
    regex: str | None = None
    category: str
    reason: str | None = None
    suggest: str = ""

    @model_validator(mode="after")
    def _compiles(self) -> _Entry:
        re.compile(self.regex or re.escape(self.word))
        return self


class _File(_Strict):
    categories: dict[str, Category]
    words: list[_Entry]

    @model_validator(mode="after")
    def _known_categories(self) -> _File:
        unknown = sorted({e.category for e in self.words} - set(self.categories))
        if unknown:
            raise ValueError(f"words use unknown categories: {', '.join(unknown)}")
        return self


@dataclass(frozen=True)
class Rule:
    """One compiled entry: ``word`` names it (allow entries may name it), ``pattern`` finds it."""

    word: str
    pattern: re.Pattern[str]
    category: str
    reason: str
    suggest: str


def literal_rule(word: str, category: str, reason: str, suggest: str) -> Rule:
    """A rule matching ``word`` literally (folded), as operators' ``extra`` words are."""
    return Rule(word, re.compile(re.escape(fold_word(word))), category, reason, suggest)


@dataclass(frozen=True)
class WordList:
    """The compiled list: its categories and its rules, in file order."""

    categories: dict[str, Category]
    rules: tuple[Rule, ...]

    def law(self, category: str) -> str:
        """The legal basis of a category ('' for one the list does not know)."""
        known = self.categories.get(category)
        return known.law if known else ""


def load_words(path: Path) -> WordList:
    """Read and compile a word list file.

    Raises:
        ValueError: naming the file and what is wrong with it.
    """
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        parsed = _File.model_validate(data)
    except (OSError, ValidationError, re.error, ValueError) as exc:
        raise ValueError(f"广告法 word list {path} is broken: {exc}") from exc
    rules = []
    for entry in parsed.words:
        pattern = re.compile(entry.regex) if entry.regex else re.compile(re.escape(fold_word(entry.word)))
        reason = entry.reason or parsed.categories[entry.category].law
        rules.append(Rule(entry.word, pattern, entry.category, reason, entry.suggest))
    return WordList(dict(parsed.categories), tuple(rules))


@cache
def shipped() -> WordList:
    """The shipped list, read on first use and kept (it is part of the release, not config)."""
    return load_words(DEFAULT_WORDS_FILE)
