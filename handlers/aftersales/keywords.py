"""Is a message a complaint (售后) or a question about after-sales? Pure functions of the text.

The same words open a ticket and fill the FAQ: "坏果怎么办" before buying is a question the FAQ
answers, "我的草莓有两个坏果" from a buyer is a complaint. The rule, on the text normalised
as the FAQ matcher normalises it (`bot.text.normalize`: NFKC, casefold, no spaces):

1. it names a complaint keyword (`DEFAULT_KEYWORDS` plus the campaign's
   `fulfilment.ticket_keywords`), not only in a denial (没有坏果), praise or a promise (坏果包赔);
2. a hypothetical (如果, 万一, 要是 …) is a question, always;
3. a question (the FAQ's question words, or a question mark) is a complaint only with
   evidence that it is about the member's own goods (我的, 收到, 少发, 两个 …);
4. anything else naming a keyword is a report, so a complaint.

Whether the sender bought anything is the handler body's check (the database); a complaint
from someone without orders falls through to the FAQ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from bot.text import normalize
from handlers.faq.matching import QUESTION_WORDS

DEFAULT_KEYWORDS: tuple[str, ...] = (
    "坏果", "烂", "坏了", "少发", "漏发", "破损", "压坏", "退款", "退钱",
    "不新鲜", "发霉", "变质", "骗子", "差评", "投诉",
)  # fmt: skip

KEYWORD_SETS_COMPILED = 256
MAX_COMPLAINT_CHARS = 300
"""Longer text is not read as a complaint (a pasted article, a forwarded notice)."""

BENIGN = ("灿烂", "烂漫", "烂熟", "坏果率")
"""Words that merely contain a keyword."""

PROMISE = re.compile(r"包赔|包退|包换|保证|承诺|放心")
"""A promise (坏果包赔, 放心买) is the seller's talk, never a complaint."""

_NEGATED = re.compile(r"(?:没有|没|无|零|不会|不)$")
_NONE_AT_ALL = re.compile(r"都没有?|一个都没|全都好|都很好|都挺好")
HYPOTHETICAL = re.compile(r"如果|如有|万一|要是|假如|假设|若是|的话")
_QUESTION = re.compile("|".join(map(re.escape, (*QUESTION_WORDS, "?", "能", "可以", "是否", "如何"))))
EVIDENCE = re.compile(
    r"我的|我家|我买|我这|我们的|我刚|我收到|我拿|收到|到手|拿到|刚拿|送到|送来|发来|少发|漏发|少了|缺了"
    r"|买的|这次的|这批|(?:坏|烂|破损|压坏|发霉|变质|少发|漏发)了|[0-9一两二三四五六七八九十几好多半]+[个盒斤颗箱袋只份粒串]"
)
"""Signs the text is about the member's own goods, not a question about the rules."""


@lru_cache(maxsize=KEYWORD_SETS_COMPILED)
def _any_keyword(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One search for all of `keywords`: most chatter names none, and then nothing else runs."""
    return re.compile("|".join(map(re.escape, keywords))) if keywords else re.compile(r"(?!)")


def keyword_in(norm: str, keywords: Iterable[str]) -> str | None:
    """The first keyword `norm` names outside a denial (没有坏果) or a benign phrase; None if none."""
    keywords = keywords if isinstance(keywords, tuple) else tuple(keywords)
    if _any_keyword(keywords).search(norm) is None:  # removing benign phrases adds no keyword
        return None
    for phrase in BENIGN:
        norm = norm.replace(phrase, " ")
    if _NONE_AT_ALL.search(norm) or PROMISE.search(norm):
        return None
    for keyword in keywords:
        start = norm.find(keyword)
        while start >= 0:
            if keyword.startswith("不") or not _NEGATED.search(norm[:start]):
                return keyword
            start = norm.find(keyword, start + 1)
    return None


def complaint_keyword(
    text: str, keywords: Iterable[str] = DEFAULT_KEYWORDS, norm: str | None = None
) -> str | None:
    """The keyword that makes `text` a complaint, or None when it is none (chatter, or a question
    the FAQ should answer). See the module docstring for the rule. `norm` is `normalize(text)`
    when the caller has it already (a matcher's view)."""
    if not text or len(text) > MAX_COMPLAINT_CHARS:
        return None
    if norm is None:
        norm = normalize(text)
    keyword = keyword_in(norm, keywords)
    if keyword is None or HYPOTHETICAL.search(norm):
        return None
    if _QUESTION.search(norm) and not EVIDENCE.search(norm):
        return None
    return keyword


def keywords_of(extra: Iterable[str]) -> tuple[str, ...]:
    """The defaults plus a campaign's own ticket keywords, normalised, without repeats."""
    words = (normalize(w) for w in (*DEFAULT_KEYWORDS, *extra))
    return tuple(dict.fromkeys(w for w in words if w))
