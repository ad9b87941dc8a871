"""Say plainly, at the end of the run, when the board's browser tests could not run."""

from __future__ import annotations

from typing import Any

from tests.board.browser_kit import MISSING, chromium


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if chromium() is None:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(MISSING)
