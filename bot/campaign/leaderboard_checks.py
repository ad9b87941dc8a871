"""Cross-field check of the `leaderboard:` section: the board is posted with the broadcasts and/or
every `every`; a section that turns both off (or rides broadcasts the file turned off) declares a
board that is never posted."""

from __future__ import annotations

from typing import Any

from bot.campaign.problems import Issue

__all__ = ["leaderboard"]


def leaderboard(issues: list[Issue], section: Any, broadcasts: Any) -> None:
    """An enabled board needs a moment to be posted: broadcasts to ride on, or `every`."""
    if section is None or not section.enabled or section.every is not None:
        return
    if not section.with_broadcasts:
        issues.append(
            Issue(
                ("leaderboard",),
                "set 'every' (e.g. 15m) or with_broadcasts: true; it is never posted",
                "container",
            )
        )
    elif broadcasts is not None and not broadcasts.at and broadcasts.every is None:
        issues.append(
            Issue(
                ("leaderboard",),
                "it is posted with the broadcasts, and there are none: set broadcasts.at or broadcasts.every,"
                " or leaderboard.every",
                "container",
            )
        )
