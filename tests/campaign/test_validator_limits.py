"""The validator cannot be knocked over: each hostile file from issue 12 item 7 ends in problems.

Every case must end in ``file:line:col: field: message`` lines (or validate), never an exception,
within the stated bounds (docs/campaigns.md, "Limits"): under 2 s and 50 MB per file.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.campaign import CampaignError, Problem, parse_campaign

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "tests" / "fixtures" / "sample_fixed.yaml").read_text(encoding="utf-8")
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
SECONDS = 2.0
PEAK_BYTES = 50 * 1024 * 1024

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(9)
)


def sub(old: str, new: str) -> str:
    assert old in SAMPLE, old
    return SAMPLE.replace(old, new, 1)


# name -> (file text, (field, part of the message)) of a problem that must be reported
CORPUS: dict[str, tuple[str, tuple[str, str]]] = {
    "billion_laughs": (LAUGHS, ("", "aliases")),
    "deep_flow_nesting": ("id: x\nproducts: " + "[" * 5000 + "]" * 5000 + "\n", ("", "nested more than")),
    "deep_block_nesting": ("id: x\n" + "".join(" " * i + f"k{i}:\n" for i in range(300)), ("", "nested")),
    "price_1e308": (sub("price: 59.90", "price: 1e308"), ("products[0].price", "at most")),
    "closes_at_year_1": (
        sub("closes_at: 2026-12-06 22:00", "closes_at: 0001-01-01 00:00"),
        ("closes_at", "year"),
    ),
    "opens_at_year_9999": (
        sub("opens_at: 2026-12-05 20:00", "opens_at: 9999-12-31 23:59"),
        ("opens_at", "year"),
    ),
    "offset_huge": (sub("at: T-3d", "at: T-99999999999d"), ("preheat[0].at", "at most")),
    "offset_5000_digits": (sub("at: T-3d", "at: T-" + "9" * 5000 + "d"), ("preheat[0].at", "at most")),
    "window_huge": (sub("window: 90s", "window: 99999999999d"), ("red_packets[1].window", "at most")),
    "every_huge": (sub("every: 2h", "every: 99999999999999d"), ("broadcasts.every", "at most")),
    "coupon_id_list": (sub("id: strawberry", "id: [a, b]"), ("coupons[0].id", "lowercase")),
    "product_code_list": (sub("code: A1", "code: [a, b]"), ("products[0].code", "capital")),
    "coupon_keyword_list": (sub("keyword: 草莓券", "keyword: [a, b]"), ("coupons[0].keyword", "text")),
    "python_tag": (
        sub("price: 59.90", "price: !!python/object/apply:os.system ['echo hi']"),
        ("products[0].price", "tag '!!python/object/apply:os.system' is not allowed"),
    ),
    "custom_tag": (sub("title: ", "title: !secret "), ("title", "tag")),
    "stock_past_int64": (
        sub("stock: 200", "stock: 99999999999999999999999"),
        ("products[0].stock", "at most"),
    ),
    "stock_5000_digits": (sub("stock: 200", "stock: " + "9" * 5000), ("products[0].stock", "at most")),
    "stock_true": (sub("stock: 200", "stock: true"), ("products[0].stock", "whole number")),
    "limit_false": (
        sub("limit_per_member: 3", "limit_per_member: false"),
        ("products[0].limit_per_member", "whole"),
    ),
    "limit_past_int64": (
        sub("limit_per_member: 3", "limit_per_member: 9223372036854775808"),
        ("products[0].limit_per_member", "at most"),
    ),
    "packets_1e12": (sub("packets: 20", "packets: 1000000000000"), ("red_packets[0].packets", "at most")),
    "budget_huge": (sub("budget: 50.00 ", "budget: 1e30 "), ("red_packets[0].budget", "at most")),
    "quota_huge": (sub("quota: 100 ", "quota: 10000000000000 "), ("coupons[0].quota", "at most")),
    "threshold_true": (
        sub("low_stock_threshold: 0.2", "low_stock_threshold: true"),
        ("broadcasts.low_stock_threshold", "number"),
    ),
    "alert_threshold_inf": (
        sub("spend_tiers:", "monitoring:\n  conversion:\n    threshold: 1e999\nspend_tiers:"),
        ("monitoring.conversion.threshold", ""),
    ),
    "complex_key": (SAMPLE + "? [a, b]\n: 1\n", ("", "plain word")),
    "self_alias": ("a: &a [*a]\n", ("", "own anchor")),
    "unknown_alias": ("a: *nope\n", ("", "no anchor")),
    "huge_file": ("id: x\n" + "# padding\n" * 20_000, ("", "at most 128 KB")),
    "long_list": ("id: x\ngroups: [" + ", ".join(["g"] * 1500) + "]\n", ("groups", "more than 1000 items")),
}


def _problems(text: str, file: str) -> list[Problem]:
    try:
        parse_campaign(text, file, anchor=ANCHOR)
    except CampaignError as exc:
        return exc.problems
    return []


def check(text: str, file: str = "fuzz.yaml") -> list[Problem]:
    """Validate ``text``; the problems (empty when it validates), or fail on any exception/bound.

    Timed without tracing (tracemalloc slows Python down about threefold), then traced for memory.
    """
    started = time.perf_counter()
    problems = _problems(text, file)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    try:
        _problems(text, file)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < SECONDS, f"took {elapsed:.2f}s"
    assert peak < PEAK_BYTES, f"peak {peak / 1e6:.1f} MB"
    for problem in problems:
        assert str(problem).startswith(f"{file}:{problem.line}:{problem.column}: ")
        assert problem.line >= 1 and problem.column >= 1 and problem.message
    return problems


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_file_ends_in_problems_within_bounds(name: str) -> None:
    text, (field, fragment) = CORPUS[name]
    problems = check(text)
    assert problems, "a hostile file must not validate"
    assert any(p.field == field and fragment in p.message for p in problems), [str(p) for p in problems]


def test_sample_still_validates_within_bounds() -> None:
    assert check(SAMPLE) == []


def test_a_bug_in_the_checks_is_a_problem_naming_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bot.campaign import load_campaign, loader

    def broken(*args: object) -> None:
        raise RecursionError("boom")

    monkeypatch.setattr(loader, "_analyse", broken)
    path = tmp_path / "c.yaml"
    path.write_text(SAMPLE, encoding="utf-8")
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    [problem] = info.value.problems
    assert problem.file == str(path) and "could not be checked (RecursionError)" in problem.message


def test_duplicate_id_names_both_files(tmp_path: Path) -> None:
    from bot.campaign import validate_paths

    (tmp_path / "a-sample.yaml").write_text(SAMPLE, encoding="utf-8")
    (tmp_path / "my-first.yaml").write_text(SAMPLE, encoding="utf-8")
    _, problems = validate_paths([tmp_path])
    [problem] = problems
    assert problem.field == "id" and problem.line == 10
    assert "a-sample.yaml" in problem.message and "my-first.yaml" in problem.message
