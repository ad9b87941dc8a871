"""The 广告法 lint: which words of a text make a false or forbidden advertising claim.

One pure function, :func:`check`, serves every writer: the campaign loader (each text field of
a campaign file), leader commands (``/welcome set``, ``/faq add``) through
:class:`bot.compliance.adlaw_guard.AdlawGuard`, and any later feature that publishes text a
person wrote. It finds

- words of the shipped list (``data/compliance/adlaw.yaml``: absolute terms 绝对化用语, state
  names 国家机关名义, medical claims 医疗功效) and the operator's ``extra`` words;
- fake urgency (虚假紧迫): 「最后一天」 when the sale is open for longer than the claim says;
- invented sales figures (虚构销量): 「已售10万件」 typed as a literal number.

Words an ``allow`` entry names (with its reason) pass: an allowed word covers every hit inside
an occurrence of it, and a shipped entry it names exactly (allow ``第一`` lets every 「第一」 pass).
Overlapping hits are reported once, the longest (「全网最低价」, not also 「最低」).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from bot.compliance.adlaw_claims import sales_claims, urgency_claims
from bot.compliance.adlaw_fold import Folded, fold, fold_word
from bot.compliance.adlaw_words import OPERATOR, Rule, WordList, literal_rule, shipped
from bot.config import AdlawAllow, AdlawExtra

__all__ = ["SALES", "URGENCY", "Hit", "check"]

URGENCY = "虚假紧迫"
SALES = "虚构销量"
URGENCY_SUGGEST = "按真实结团时间写，如“{{ closes_at | mdhm }} 截单”，或删去"
SALES_SUGGEST = "用机器人的实时数据（如播报模板里的 {{ sold }}），不要手写销量"
_NEVER = re.compile(r"(?!)")


@dataclass(frozen=True)
class Hit:
    """One claim in a text: the words as written, why they are refused, what to write instead.

    ``start``/``end`` index the checked text (``text[start:end] == word``).
    """

    word: str
    category: str
    reason: str
    suggest: str
    start: int
    end: int

    def message(self) -> str:
        """One line: ``「全网最低价」 绝对化用语 (广告法第九条); suggest 「超值价」``."""
        line = f"「{self.word}」 {self.category} ({self.reason})"
        return f"{line}; suggest 「{self.suggest}」" if self.suggest else line


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    rule: Rule
    order: int


def _extra_rules(extra: Iterable[AdlawExtra], words: WordList) -> list[Rule]:
    """Operators' words; a reason naming a shipped category takes that category and its law."""
    rules = []
    for item in extra:
        if item.reason in words.categories:
            rules.append(literal_rule(item.word, item.reason, words.law(item.reason), item.suggest))
        else:
            rules.append(literal_rule(item.word, OPERATOR, item.reason, item.suggest))
    return rules


def _claim_rules(words: WordList) -> tuple[Rule, Rule]:
    """Rules standing for the fact claims (found by :mod:`bot.compliance.adlaw_claims`, not a pattern)."""
    return (
        Rule(URGENCY, _NEVER, URGENCY, words.law(URGENCY), URGENCY_SUGGEST),
        Rule(SALES, _NEVER, SALES, words.law(SALES), SALES_SUGGEST),
    )


def _candidates(
    folded: str, rules: list[Rule], words: WordList, closes_in: timedelta | None, urgency: bool
) -> list[_Candidate]:
    found: list[_Candidate] = []
    for order, rule in enumerate(rules):
        found.extend(_Candidate(m.start(), m.end(), rule, order) for m in rule.pattern.finditer(folded))
    urgency_rule, sales_rule = _claim_rules(words)
    if urgency:
        for claim in urgency_claims(folded):
            if claim.span is not None and (closes_in is None or closes_in > claim.span):
                found.append(_Candidate(claim.start, claim.end, urgency_rule, -2))
    found.extend(_Candidate(c.start, c.end, sales_rule, -1) for c in sales_claims(folded))
    return [c for c in found if c.end > c.start]


def _longest(candidates: list[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates, preferring the earliest, then the longest, then fact claims."""
    kept: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: (c.start, c.start - c.end, c.order)):
        if not kept or candidate.start >= kept[-1].end:
            kept.append(candidate)
    return kept


def _allowed(folded: str, allow: Iterable[AdlawAllow]) -> tuple[list[tuple[int, int]], set[str]]:
    """Spans of allowed words in the text, and the allowed words themselves (folded)."""
    spans: list[tuple[int, int]] = []
    names: set[str] = set()
    for item in allow:
        word = fold_word(item.word)
        if not word:
            continue
        names.add(word)
        at = folded.find(word)
        while at >= 0:
            spans.append((at, at + len(word)))
            at = folded.find(word, at + 1)
    return spans, names


def check(
    text: str,
    *,
    allow: Iterable[AdlawAllow] = (),
    extra: Iterable[AdlawExtra] = (),
    closes_in: timedelta | None = None,
    urgency: bool = True,
    words: WordList | None = None,
) -> list[Hit]:
    """Every claim in ``text`` the law forbids, in text order.

    Args:
        text: what a person wrote (Jinja2 variables in it are the bot's own and not checked).
        allow: words an operator allowed, each with its reason.
        extra: words an operator added to the shipped list.
        closes_in: how long the sale stays open after the text is sent; None when the text has
            no fixed sending time (a product description, an FAQ answer, a welcome), so that
            any 「最后一天」 in it is untrue most of the time it is shown.
        urgency: False skips the fake-urgency check (the sending time is not known yet).
        words: the word list (default: the shipped one).
    """
    word_list = words or shipped()
    folded: Folded = fold(text)
    if not folded.text:
        return []
    rules = [*word_list.rules, *_extra_rules(extra, word_list)]
    kept = _longest(_candidates(folded.text, rules, word_list, closes_in, urgency))
    spans, names = _allowed(folded.text, allow)
    hits = []
    for candidate in kept:
        if fold_word(candidate.rule.word) in names:
            continue
        if any(start <= candidate.start and candidate.end <= end for start, end in spans):
            continue
        start, end = folded.span(candidate.start, candidate.end)
        rule = candidate.rule
        hits.append(Hit(text[start:end], rule.category, rule.reason, rule.suggest, start, end))
    return hits
