"""FAQ matching for Chinese group chat: jieba segmentation plus rapidfuzz scoring.

A message is compared with each entry's canonical question and example
phrasings two ways: the character-level edit ratio (robust to jieba splitting
an unknown word differently) and the token-sort ratio of the content words
(robust to word order: 自提点在哪 / 在哪里自提). A keyword of the entry in the
message adds a bonus. The best score must reach `THRESHOLD`, and the message
must look like a question (question words, a question mark, or an @ to the
bot) unless it is a near-copy of an example: answering chatter gets a bot
muted, so below the bar the bot stays silent. The numbers were chosen on the
labelled group messages in `tests/engagement/faq_cases.yaml`.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from loguru import logger
from pydantic import ValidationError
from rapidfuzz import fuzz
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.campaign.models import FaqEntry
from bot.text import normalize
from handlers.faq.screen import Phrasing, Screen

THRESHOLD = 62.0
"""Minimum score (0-100) to answer at all."""

NEAR_COPY = 88.0
"""A score this high answers even without question words (`自提点在哪里` said flatly)."""

KEYWORD_BONUS = 22.0
"""Added when one of the entry's keywords appears in the message."""

SAME_QUESTION = 80.0
"""Phrasing similarity (without keyword bonus) at which two questions are the same question:
a leader's `/faq add` then replaces the shipped entry in that group (`handlers.faq.chat`)."""

MIN_CONTENT_CHARS = 2
"""Messages with less content than this (`？`, `啊？`) are never answered."""

QUESTION_WORDS = (
    "吗", "呢", "么", "嘛", "怎么", "怎样", "咋", "如何", "什么", "啥", "哪", "几", "多少", "多久",
    "能不能", "可不可以", "是不是", "有没有", "会不会", "要不要", "行不行", "能否", "请问", "求问",
    "谁知道", "为何", "为什么",
)  # fmt: skip

_STOPWORD_LIST = (
    "的 了 吗 呢 啊 呀 吧 嘛 哦 哈 么 噢 喔 哇 嗯 呐 滴 哒 咯 啦 请问 问下 问一下 一下 下 "
    "我 我们 你 你们 咱 咱们 亲 亲们 大家 群主 团长 小助手 "
    "是 就 都 还 也 又 这 那 个 这个 那个 一个 有人 知道"
)
STOPWORDS = frozenset(_STOPWORD_LIST.split())

FILLERS = (
    "什么时候", "怎么办", "可不可以", "能不能", "是不是", "有没有", "会不会", "要不要",
    "什么", "时候", "怎么", "怎样", "如何", "可以", "请问", "一下",
)  # fmt: skip
"""Question scaffolding shared by most questions; removed before comparing, so that
榴莲什么时候上 does not look like 下次什么时候开团 just because both ask "when"."""

_FILLER_RE = re.compile("|".join(FILLERS))
_QUESTION_RE = re.compile("|".join(map(re.escape, QUESTION_WORDS)))
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_tokenizer_lock = threading.Lock()
_tokenizer: Any = None
_vocabulary = 0
"""Bumped whenever a matcher adds keywords to jieba: the same text may then split differently."""

MEMO_SIZE = 4096
"""Answers remembered per matcher: chatter repeats (哈哈哈, 好的, 收到)."""


def _import_jieba() -> Any:
    """jieba, imported without `pkg_resources`.

    jieba's `_compat` imports setuptools' `pkg_resources` (12 MB resident, nothing else in
    the bot imports it) only to open its own data files, and opens them by path when that
    import fails: the same files. So the name is blocked for this one import (a `None` in
    `sys.modules` makes `import` raise ImportError) and put back as it was.
    """
    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        import jieba

        return jieba
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


def _jieba() -> Any:
    """A private jieba tokenizer, built on first use (it loads a dictionary; never at import time).

    Its prefix dictionary is `handlers.faq.dictionary`'s memory-mapped trie: `initialize`
    would build the same mapping as a 500,000-entry dict, 62 MB that never goes away.
    """
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            jieba = _import_jieba()

            from handlers.faq.dictionary import load_prefix_dict

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.FREQ, tokenizer.total = load_prefix_dict()
            tokenizer.initialized = True  # so `check_initialized` never builds jieba's own dict
            _tokenizer = tokenizer
        return _tokenizer


def tokenizer_ready() -> bool:
    """Whether jieba's dictionary is loaded (a few ms, or about a second while its cache file is built)."""
    return _tokenizer is not None


def load_tokenizer() -> None:
    """Load jieba's dictionary now; call it in a worker thread so the event loop never stalls."""
    _jieba()


def vocabulary() -> int:
    """How often jieba learnt words; a change means a text may now split differently (memos drop)."""
    return _vocabulary


def squash(text: str) -> str:
    """Normalised text with punctuation, symbols and emoji removed."""
    return _NON_WORD.sub("", normalize(text)).replace("_", "")


def content(text: str) -> str:
    """`squash`ed text without the question scaffolding (`FILLERS`); empty if nothing else is left."""
    return _FILLER_RE.sub("", squash(text))


def content_tokens(text: str) -> list[str]:
    """jieba words of `text` without particles, pronouns, question scaffolding and punctuation."""
    words = _jieba().lcut(squash(text))
    return [w for w in words if w.strip() and w not in STOPWORDS and not _FILLER_RE.fullmatch(w)]


def is_question(text: str) -> bool:
    """Question mark at the end, or a question word anywhere."""
    return _normalized_question(normalize(text))


def _normalized_question(normalized: str) -> bool:
    stripped = normalized.rstrip("~～.。!！…🙏😊")
    if stripped.endswith(("?", "？")):
        return True
    return _QUESTION_RE.search(stripped) is not None  # any question word, in one pass


@dataclass(frozen=True)
class FaqItem:
    """One answerable question; `key` is unique across sources (cooldowns are per key)."""

    key: str
    question: str
    answer: str
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    source: str = "group"


@dataclass(frozen=True)
class FaqMatch:
    item: FaqItem
    score: float
    question_like: bool


@dataclass
class _Prepared:
    item: FaqItem
    keywords: tuple[str, ...]
    phrasings: list[tuple[str, str]] = field(default_factory=list)  # (content, sorted content tokens)
    screened: list[Phrasing] = field(default_factory=list)  # the same, for `handlers.faq.screen`


class FaqMatcher:
    """Scores messages against a fixed set of FAQ items."""

    def __init__(self, items: Iterable[FaqItem]) -> None:
        global _vocabulary
        tokenizer = _jieba()
        self.items = list(items)
        self._prepared: list[_Prepared] = []
        self._memo: LRUCache[tuple[str, bool], FaqMatch | None] = LRUCache(MEMO_SIZE)
        self._memo_vocabulary = -1
        for item in self.items:
            for word in item.keywords:
                if len(squash(word)) >= 2:
                    tokenizer.add_word(squash(word), freq=2000)
                    _vocabulary += 1
        for item in self.items:
            keywords = tuple(k for k in (squash(w) for w in item.keywords) if k)
            prepared = _Prepared(item, keywords)
            for phrase in (item.question, *item.examples):
                stripped = content(phrase) or squash(phrase)
                if stripped:
                    prepared.phrasings.append((stripped, " ".join(sorted(content_tokens(phrase)))))
                    prepared.screened.append(Phrasing(*prepared.phrasings[-1]))
            self._prepared.append(prepared)
        self._screen = Screen([p.screened for p in self._prepared])
        self._keywords = frozenset(k for p in self._prepared for k in p.keywords)

    def _similarity(self, prepared: _Prepared, stripped: str, tokens: str) -> float:
        """How alike the text is to the item's closest phrasing, 0-100, before any keyword bonus."""
        best = 0.0
        for phrase, phrase_tokens in prepared.phrasings:
            char_score = fuzz.ratio(stripped, phrase)
            token_score = fuzz.token_sort_ratio(tokens, phrase_tokens) if tokens and phrase_tokens else 0.0
            best = max(best, char_score, token_score)
        return best

    def score(self, text: str) -> list[FaqMatch]:
        """Every item with its score for `text`, best first."""
        squashed = squash(text)
        stripped = content(text) or squashed
        tokens = " ".join(sorted(content_tokens(text)))
        question_like = is_question(text)
        matches = []
        for prepared in self._prepared:
            best = self._similarity(prepared, stripped, tokens)
            if any(k in squashed for k in prepared.keywords):
                best += KEYWORD_BONUS
            matches.append(FaqMatch(prepared.item, min(100.0, best), question_like))
        return sorted(matches, key=lambda m: -m.score)

    def same_question(self, text: str) -> list[FaqItem]:
        """Items that ask the question `text` asks, phrased alike (`SAME_QUESTION`), not merely on its topic.

        Keywords do not count here: 周日下雨还能提货吗 shares 提货 with 在哪里提货 but is
        another question, while 能开发票吗 is 可以开发票吗 said differently.
        """
        squashed = squash(text)
        stripped = content(text) or squashed
        tokens = " ".join(sorted(content_tokens(text)))
        return [p.item for p in self._prepared if self._similarity(p, stripped, tokens) >= SAME_QUESTION]

    def match(self, text: str, *, addressed: bool = False) -> FaqMatch | None:
        """The answer to give, or None to stay silent.

        Gives exactly what the best of `score` would (first item with the top score, if it
        reaches `NEAR_COPY`, or `THRESHOLD` for a question), but scores only what can still
        reach that bar (`handlers.faq.screen`), and remembers recent texts.

        Args:
            text: what the member said.
            addressed: the message @-mentions the bot (counts as a question).
        """
        if self._memo_vocabulary != _vocabulary:  # jieba learnt words: remembered splits may be stale
            self._memo.clear()
            self._memo_vocabulary = _vocabulary
        key = (text, addressed)
        try:
            return self._memo[key]
        except KeyError:
            pass
        found = self._match(text, addressed)
        self._memo[key] = found
        return found

    def _match(self, text: str, addressed: bool) -> FaqMatch | None:
        normalized = normalize(text)
        squashed = _NON_WORD.sub("", normalized).replace("_", "")  # `squash(text)`, normalised once
        if len(squashed) < MIN_CONTENT_CHARS or not self._prepared:
            return None
        question_like = _normalized_question(normalized)  # `is_question(text)`
        bar = THRESHOLD if question_like or addressed else NEAR_COPY
        present = {k for k in self._keywords if k in squashed}
        bonuses = [0.0 if present.isdisjoint(p.keywords) else KEYWORD_BONUS for p in self._prepared]
        stripped = _FILLER_RE.sub("", squashed) or squashed  # `content(text)`, squashed once

        def tokens() -> str:
            return " ".join(sorted(content_tokens(text)))

        needed = [bar - b for b in bonuses]
        bests = self._screen.best_scores(needed, squashed, stripped, tokens, eager=bar == THRESHOLD)
        top: FaqMatch | None = None
        for prepared, bonus, best in zip(self._prepared, bonuses, bests, strict=True):
            if best is None:
                continue
            score = min(100.0, best + bonus)  # as `score` adds it
            if score >= bar and (top is None or score > top.score):
                top = FaqMatch(prepared.item, score, question_like)
        return top


# -- sources ------------------------------------------------------------------------
def items_from_entries(entries: Iterable[FaqEntry], source: str, key_prefix: str) -> list[FaqItem]:
    return [
        FaqItem(
            key=f"{key_prefix}:{i}",
            question=e.question,
            answer=e.answer,
            keywords=tuple(e.keywords),
            examples=tuple(e.examples),
            source=source,
        )
        for i, e in enumerate(entries)
    ]


def load_faq_file(path: Path) -> list[FaqItem]:
    """The group-wide FAQ (`data/faq.yaml`): a list of entries like a campaign's `faq`.

    A broken file is logged and ignored (the bot keeps answering from the
    campaigns), never allowed to stop the bot.
    """
    if not path.exists():
        return []
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or []
    except (OSError, YAMLError) as exc:
        logger.error("FAQ file {} could not be read and is ignored: {}", path, exc)
        return []
    if isinstance(data, dict):
        data = data.get("faq", [])
    entries: list[FaqEntry] = []
    for index, raw in enumerate(data if isinstance(data, list) else [], start=1):
        try:
            entries.append(FaqEntry.model_validate(raw))
        except ValidationError as exc:
            logger.error("FAQ file {}: entry {} ignored: {}", path, index, exc.errors()[0]["msg"])
    return items_from_entries(entries, "group", f"file:{path.name}")
