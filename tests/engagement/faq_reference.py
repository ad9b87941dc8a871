"""The FAQ matcher's scoring as it was before the fast path: the yardstick the fast path must equal.

A verbatim copy of the original Python double loop (every phrasing of every item,
`fuzz.ratio` and `fuzz.token_sort_ratio`, keyword bonus, stable sort by score), kept
only for `tests/engagement/test_faq_speed.py` and `bench/faq_match.py`.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import fuzz

from handlers.faq.matching import (
    KEYWORD_BONUS,
    MIN_CONTENT_CHARS,
    NEAR_COPY,
    THRESHOLD,
    FaqItem,
    FaqMatch,
    _jieba,
    content,
    content_tokens,
    is_question,
    squash,
)


class ReferenceMatcher:
    """The original `FaqMatcher` scoring, unoptimised."""

    def __init__(self, items: Iterable[FaqItem]) -> None:
        tokenizer = _jieba()
        self.items = list(items)
        self._prepared: list[tuple[FaqItem, tuple[str, ...], list[tuple[str, str]]]] = []
        for item in self.items:
            for word in item.keywords:
                if len(squash(word)) >= 2:
                    tokenizer.add_word(squash(word), freq=2000)
        for item in self.items:
            keywords = tuple(k for k in (squash(w) for w in item.keywords) if k)
            phrasings = []
            for phrase in (item.question, *item.examples):
                stripped = content(phrase) or squash(phrase)
                if stripped:
                    phrasings.append((stripped, " ".join(sorted(content_tokens(phrase)))))
            self._prepared.append((item, keywords, phrasings))

    @staticmethod
    def _similarity(phrasings: list[tuple[str, str]], stripped: str, tokens: str) -> float:
        best = 0.0
        for phrase, phrase_tokens in phrasings:
            char_score = fuzz.ratio(stripped, phrase)
            token_score = fuzz.token_sort_ratio(tokens, phrase_tokens) if tokens and phrase_tokens else 0.0
            best = max(best, char_score, token_score)
        return best

    def score(self, text: str) -> list[FaqMatch]:
        squashed = squash(text)
        stripped = content(text) or squashed
        tokens = " ".join(sorted(content_tokens(text)))
        question_like = is_question(text)
        matches = []
        for item, keywords, phrasings in self._prepared:
            best = self._similarity(phrasings, stripped, tokens)
            if any(k in squashed for k in keywords):
                best += KEYWORD_BONUS
            matches.append(FaqMatch(item, min(100.0, best), question_like))
        return sorted(matches, key=lambda m: -m.score)

    def same_question(self, text: str) -> list[FaqItem]:
        squashed = squash(text)
        stripped = content(text) or squashed
        tokens = " ".join(sorted(content_tokens(text)))
        return [item for item, _, ph in self._prepared if self._similarity(ph, stripped, tokens) >= 80.0]

    def match(self, text: str, *, addressed: bool = False) -> FaqMatch | None:
        if len(squash(text)) < MIN_CONTENT_CHARS or not self._prepared:
            return None
        scores = self.score(text)
        if not scores:
            return None
        top = scores[0]
        asked = top.question_like or addressed
        if top.score >= NEAR_COPY or (asked and top.score >= THRESHOLD):
            return top
        return None
