"""The FAQ matcher on labelled, real-looking group messages: precision, recall, and silence on chatter."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.campaign import load_campaign
from handlers.faq.matching import FaqItem, FaqMatcher, is_question, items_from_entries, load_faq_file
from tests.engagement.support import SAMPLE

ROOT = Path(__file__).resolve().parents[2]
CASES = YAML(typ="safe").load((Path(__file__).parent / "faq_cases.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def matcher() -> FaqMatcher:
    campaign = load_campaign(SAMPLE)
    items = items_from_entries(campaign.faq, "campaign", "c") + load_faq_file(ROOT / "data" / "faq.yaml")
    return FaqMatcher(items)


def test_the_labelled_set_is_big_enough_and_balanced() -> None:
    kinds = [c["kind"] for c in CASES]
    assert len(CASES) >= 40
    assert kinds.count("question") == kinds.count("chatter")
    assert sum(1 for c in CASES if c["expect"]) >= 20


def evaluate(matcher: FaqMatcher, cases: list[dict]) -> tuple[float, float, int, list[str], str]:
    """Precision and recall of answering with the expected entry; chatter answered; misses; a summary."""
    tp = fp = fn = 0
    misses = []
    for case in cases:
        found = matcher.match(case["text"], addressed=case.get("addressed", False))
        got = found.item.question if found else None
        want = case["expect"]
        if want and got == want:
            tp += 1
        elif got is not None:
            fp += 1
            misses.append(f"false answer: {case['text']!r} -> {got!r}")
        if want and got != want:
            fn += 1
            misses.append(f"missed: {case['text']!r} (wanted {want!r}, got {got!r})")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn)
    chatter = sum(
        1
        for c in cases
        if c["kind"] == "chatter" and matcher.match(c["text"], addressed=c.get("addressed", False))
    )
    summary = (
        f"{len(cases)} messages: precision {precision:.2f} ({tp}/{tp + fp}), recall {recall:.2f} ({tp}/{tp + fn}), "
        f"chatter answered {chatter}"
    )
    return precision, recall, chatter, misses, summary


def test_precision_and_recall_on_the_labelled_set(
    matcher: FaqMatcher, capsys: pytest.CaptureFixture[str]
) -> None:
    precision, recall, chatter, misses, summary = evaluate(matcher, CASES)
    with capsys.disabled():
        print(f"\nFAQ matcher, labelled set of {summary}")
        for line in misses:
            print("  " + line)
    assert precision >= 0.95, misses
    assert recall >= 0.9, misses
    assert chatter == 0


def test_precision_and_recall_on_held_out_messages(
    matcher: FaqMatcher, capsys: pytest.CaptureFixture[str]
) -> None:
    """Messages written after the parameters were fixed: the honest estimate (vocabulary gaps show here)."""
    held_out = YAML(typ="safe").load((Path(__file__).parent / "faq_holdout.yaml").read_text(encoding="utf-8"))
    precision, recall, chatter, misses, summary = evaluate(matcher, held_out)
    with capsys.disabled():
        print(f"\nFAQ matcher, held-out set of {summary}")
        for line in misses:
            print("  " + line)
    assert precision >= 0.9, misses  # wrong answers are what get a bot muted
    assert recall >= 0.7, misses
    assert chatter == 0


@pytest.mark.parametrize(
    ("text", "question"),
    [("自提点在哪？", True), ("可以送吗", True), ("收到", False), ("草莓好甜", False), ("明天见?", True)],
)
def test_question_detection(text: str, question: bool) -> None:
    assert is_question(text) is question


def test_near_copy_answers_even_without_question_words(matcher: FaqMatcher) -> None:
    found = matcher.match("在哪里提货")
    assert found is not None and "自提" in found.item.question


def test_punctuation_and_emoji_alone_are_never_answered(matcher: FaqMatcher) -> None:
    for text in ["？", "??", "🤔？", "啊？", ""]:
        assert matcher.match(text, addressed=True) is None


def test_an_empty_matcher_is_silent() -> None:
    assert FaqMatcher([]).match("自提点在哪里？") is None


def test_leader_entries_without_examples_still_match() -> None:
    matcher = FaqMatcher([FaqItem("custom:1", "周日下雨还能提货吗", "照常提货")])
    found = matcher.match("周日下雨还可以提货吗？")
    assert found is not None and found.item.key == "custom:1"


def test_a_broken_faq_file_is_ignored_not_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "faq.yaml"
    bad.write_text(
        "- question: 只有问题\n- question: 好的\n  answer: 好\n  keywords: [好]\n", encoding="utf-8"
    )
    items = load_faq_file(bad)
    assert [i.question for i in items] == ["好的"]
    (tmp_path / "broken.yaml").write_text("- [unclosed", encoding="utf-8")
    assert load_faq_file(tmp_path / "broken.yaml") == []
    assert load_faq_file(tmp_path / "missing.yaml") == []
