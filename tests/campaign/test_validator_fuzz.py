"""Fuzz the validator with 1,000 mutated copies of the shipped sample (issue 12 item 7).

Every mutation must end in ``file:line:col: field: message`` problems or validate — never an
exception — and each file must stay under the time bound; memory is bounded for the whole run by
the process's peak RSS (the per-file tracemalloc bound is checked on the hostile corpus in
test_validator_limits.py, where tracing's slowdown is affordable).

The base is the sample without its comments and FAQ (the FAQ is long prose that only slows the
run down; its types are fuzzed through the other sections' mutations), so 1,000 files fit in CI.
"""

from __future__ import annotations

import resource
import time
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.campaign import CampaignError, parse_campaign

ROOT = Path(__file__).resolve().parents[2]
_FULL = (ROOT / "data" / "campaigns" / "sample.yaml").read_text(encoding="utf-8")
_LINES = [line for line in _FULL.splitlines() if line.strip() and not line.lstrip().startswith("#")]
BASE = _LINES[: next(i for i, line in enumerate(_LINES) if line.startswith("faq:"))]
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
SECONDS = 2.0
RSS_GROWTH_KB = 50 * 1024
# The process's peak before the first example (other tests in the session may have raised it
# since import, so the baseline is taken when this test starts, not when the module loads).
_RSS_BASELINE: dict[str, int] = {}

HOSTILE = [
    "1e308",
    "-1",
    "0",
    "true",
    "false",
    "null",
    "~",
    "''",
    "[]",
    "{}",
    "[a, b]",
    "{a: 1}",
    "9" * 30,
    "99999999999999999999",
    "1e-400",
    ".inf",
    ".nan",
    "0x7fffffffffffffff",
    "0o777",
    "T-99999999999d",
    "T+1d",
    "C-1h",
    "C+9999d",
    "T",
    "0001-01-01 00:00",
    "9999-12-31 23:59",
    "2026-12-05",
    "2026-02-30 20:00",
    "+2h",
    "+1d 20:00",
    "+99999999999d",
    "+1d 25:00",
    "!!python/object/apply:os.system ['x']",
    "!custom x",
    "&a x",
    "*a",
    "*nope",
    "|\n  text",
    "'unterminated",
    '"\\x"',
    "A1",
    "a-b",
    "抢",
    "60s",
    "0s",
    "99999999999d",
    "1h30m",
    "23:00-08:00",
    "Asia/Beijing",
    "1_000",
    "59.999",
    "[[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]",
    "- x",
]

LINE_INDEX = st.integers(min_value=0, max_value=len(BASE) - 1)
VALUE = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        i = draw(LINE_INDEX) % len(lines) if lines else 0
        kind = draw(st.sampled_from(["value", "value", "value", "drop", "copy", "indent", "insert", "cut"]))
        if not lines:
            break
        line = lines[i]
        if kind == "value":
            head = line.split(":", 1)[0] if ":" in line else line[: len(line) - len(line.lstrip())] + "-"
            lines[i] = f"{head}: {draw(VALUE)}" if ":" in line else f"{head} {draw(VALUE)}"
        elif kind == "drop":
            del lines[i]
        elif kind == "copy":
            lines.insert(i, line)
        elif kind == "indent":
            lines[i] = " " * draw(st.integers(min_value=0, max_value=9)) + line.lstrip()
        elif kind == "insert":
            lines.insert(i, draw(st.sampled_from(["  x: 1", "zz: [1]", "- 1", "? [a]\n: b", "---"])))
        else:
            lines = lines[:i]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=mutated())
def test_mutated_sample_ends_in_problems_or_validates(text: str) -> None:
    baseline = _RSS_BASELINE.setdefault("kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    started = time.perf_counter()
    try:
        parse_campaign(text, "fuzz.yaml", anchor=ANCHOR)
    except CampaignError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert str(problem).startswith(f"fuzz.yaml:{problem.line}:{problem.column}: ")
            assert problem.line >= 1 and problem.column >= 1 and problem.message
            assert "could not be checked" not in problem.message, text  # the catch-all is not a pass
    assert time.perf_counter() - started < SECONDS
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline < RSS_GROWTH_KB
