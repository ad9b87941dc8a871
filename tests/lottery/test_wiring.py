"""The lottery is wired into the app: its feature is listed, its tables are in the schema, and
the worked example in docs/lottery.md says what its line prints."""

from __future__ import annotations

import re
from pathlib import Path

from bot.schema import TABLE_MODULES, all_tables
from handlers.features import FEATURES
from handlers.lottery import tables
from handlers.lottery.fairness import commitment_of, entry_tag, winning_numbers
from tests.lottery.kit import run_check_line

DOC = Path(__file__).resolve().parents[2] / "docs" / "lottery.md"


def test_the_feature_is_listed_after_points() -> None:
    names = [f.name for f in FEATURES]
    assert "lottery" in names and names.index("lottery") > names.index("points")


def test_the_schema_creates_the_lottery_tables() -> None:
    """Without `handlers.lottery.tables` in bot/schema.py a real `tuanbot run` has no lottery tables
    (and `tuanbot member export|forget`, which read the schema, would not see the entries)."""
    assert tables in TABLE_MODULES
    assert {"lottery_draws", "lottery_entries"} <= {t.name for t in all_tables()}


def test_the_worked_example_in_the_docs_is_what_its_line_prints() -> None:
    doc = DOC.read_text(encoding="utf-8")
    [code] = re.findall(r"^python3 -c '(import hashlib;s=.*)'$", doc, re.MULTILINE)
    seed = re.search(r's="([0-9a-f]{32})";n=(\d+);k=(\d+)', code)
    assert seed is not None
    s, n, k = seed.group(1), int(seed.group(2)), int(seed.group(3))
    printed = run_check_line(code)
    assert printed == (commitment_of(s), winning_numbers(s, n, k))
    assert f"{printed[0]}\n{printed[1]}" in doc  # the output block, as Python prints it
    assert f"`{entry_tag(s, 'alice')}`" in doc
