"""The fast `FaqMatcher.match` gives exactly what the original scoring gave: same answer or silence, same score.

The original algorithm is kept verbatim in `tests.engagement.faq_reference`; both run over
the labelled cases, the held-out cases and thousands of generated chatter and question strings.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.campaign import load_campaign
from handlers.faq.matching import (
    FaqItem,
    FaqMatcher,
    _jieba,
    items_from_entries,
    load_faq_file,
    squash,
)
from handlers.faq.screen import Phrasing, token_bound
from tests.engagement.faq_reference import ReferenceMatcher
from tests.engagement.support import SAMPLE

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
CASES = [
    *YAML(typ="safe").load((HERE / "faq_cases.yaml").read_text(encoding="utf-8")),
    *YAML(typ="safe").load((HERE / "faq_holdout.yaml").read_text(encoding="utf-8")),
]
PHRASES = ["自提点在哪里", "什么时候", "可以", "发票", "草莓", "团长", "收到", "哈哈哈", "好的", "谢谢", "取消", "付款", "怎么", "吗", "？", "!", "🍓", " ", "12栋", "优惠券", "几点开团", "下次", "坏果", "送货上门", "群消息", "接龙", "@团购小助手"]  # fmt: skip
ALPHABET = "".join(sorted(set("".join(PHRASES) + "的了吧呢啊呀哪里是有没人不要能在到货开退款新鲜水果橙子")))


def items() -> list[FaqItem]:
    shipped = items_from_entries(load_campaign(SAMPLE).faq, "campaign", "c")
    return shipped + load_faq_file(ROOT / "data" / "faq.yaml")


@pytest.fixture(scope="module")
def pair() -> tuple[FaqMatcher, ReferenceMatcher]:
    return FaqMatcher(items()), ReferenceMatcher(items())


def corpus(rng: random.Random, n: int) -> list[str]:
    """Chatter and questions: labelled texts, their mixes, fragments glued together, and random characters."""
    labelled = [c["text"] for c in CASES]
    out = []
    for _ in range(n):
        kind = rng.randrange(4)
        if kind == 0:
            out.append(rng.choice(labelled) + rng.choice(["", "？", "吗", "呀", "😊"]))
        elif kind == 1:
            a, b = rng.choice(labelled), rng.choice(labelled)
            out.append(a[: rng.randint(0, len(a))] + b[rng.randint(0, len(b)) :])
        elif kind == 2:
            out.append("".join(rng.choice(PHRASES) for _ in range(rng.randint(1, 5))))
        else:
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 14))))
    return out


def assert_same(fast: FaqMatcher, slow: ReferenceMatcher, text: str) -> None:
    for addressed in (False, True):
        assert fast.match(text, addressed=addressed) == slow.match(text, addressed=addressed), (
            text,
            addressed,
        )


def test_labelled_and_held_out_cases_match_exactly(pair: tuple[FaqMatcher, ReferenceMatcher]) -> None:
    fast, slow = pair
    answered = 0
    for case in CASES:
        assert_same(fast, slow, case["text"])
        answered += fast.match(case["text"]) is not None
    assert answered >= 20  # the comparison covers answers, not only silence


def test_thousands_of_generated_texts_match_exactly(pair: tuple[FaqMatcher, ReferenceMatcher]) -> None:
    fast, slow = pair
    texts = corpus(random.Random(14), 3000)
    answered = 0
    for text in texts:
        assert_same(fast, slow, text)
        answered += fast.match(text, addressed=True) is not None
    assert answered >= 100


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(
        st.text(alphabet=ALPHABET, max_size=20), st.lists(st.sampled_from(PHRASES), max_size=6).map("".join)
    )
)
def test_hypothesis_texts_match_exactly(pair: tuple[FaqMatcher, ReferenceMatcher], text: str) -> None:
    assert_same(*pair, text)


def test_leader_entries_and_empty_matchers_match_exactly() -> None:
    own = [FaqItem("custom:1", "周日下雨还能提货吗", "照常提货"), FaqItem("custom:2", "能开发票吗", "不开")]
    for chosen in (own, items() + own, []):
        fast, slow = FaqMatcher(chosen), ReferenceMatcher(chosen)
        for text in [*corpus(random.Random(3), 400), "周日下雨还能提货吗", "能开发票不"]:
            assert_same(fast, slow, text)


def test_remembered_answers_are_forgotten_when_jieba_learns_words(
    pair: tuple[FaqMatcher, ReferenceMatcher],
) -> None:
    """Another matcher's keywords change how jieba splits a text, so remembered results must not outlive that."""
    fast, slow = pair
    text = "芒果干什么时候到"
    assert_same(fast, slow, text)
    FaqMatcher([FaqItem("x:1", "芒果干有吗", "有", keywords=("芒果干什么",))])
    assert fast._memo_vocabulary != -1
    assert len(fast._memo) > 0
    assert_same(fast, slow, text)
    assert len(fast._memo) == 2  # cleared on the vocabulary change, then this text (addressed or not)


@settings(max_examples=800, deadline=None)
@given(st.text(alphabet=ALPHABET + "abc123", min_size=1, max_size=30))
def test_jieba_words_concatenate_back_to_the_text(text: str) -> None:
    """The token bound in `handlers.faq.screen` rests on this: segmentation loses and adds no character."""
    squashed = squash(text)
    assert "".join(_jieba().lcut(squashed)) == squashed


@settings(max_examples=1500, deadline=None)
@given(
    words=st.lists(
        st.text(alphabet="ab草莓 ", min_size=1, max_size=4).map(lambda w: w.replace(" ", "") or "a"),
        min_size=1,
        max_size=5,
    ),
    phrase=st.lists(st.text(alphabet="abc草莓", min_size=1, max_size=4), min_size=1, max_size=5),
)
def test_token_bound_is_an_upper_bound(words: list[str], phrase: list[str]) -> None:
    from collections import Counter

    from rapidfuzz import fuzz

    tokens, phrase_tokens = " ".join(sorted(words)), " ".join(sorted(phrase))
    p = Phrasing("x", phrase_tokens)
    text_counts = Counter("".join(words))
    shared = sum(min(n, text_counts[c]) for c, n in Counter(phrase_tokens.replace(" ", "")).items())
    assert fuzz.token_sort_ratio(tokens, phrase_tokens) <= token_bound(shared, p) + 1e-9


def test_cutoffs_do_not_change_the_scores_rapidfuzz_returns() -> None:
    """`score_cutoff` only turns scores below it into 0; the rest are the same floats."""
    from rapidfuzz import fuzz

    rng = random.Random(5)
    texts = corpus(rng, 600)
    for a, b in zip(texts, reversed(texts), strict=True):
        for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
            plain = scorer(a, b)
            for cutoff in (plain, plain - 1e-6, 40.0, 62.0, 66.0, 88.0):
                cut = scorer(a, b, score_cutoff=cutoff)
                assert cut == (plain if plain >= cutoff else 0.0), (a, b, cutoff)
