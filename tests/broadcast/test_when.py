"""The time word of /broadcast, read in the bot's timezone (Asia/Shanghai, UTC+8)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.broadcast.when import parse_when

NOW = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
TZ = "Asia/Shanghai"


@pytest.mark.parametrize(
    ("word", "local"),
    [
        ("now", "2026-12-05 12:00"),
        ("立即", "2026-12-05 12:00"),
        ("+30m", "2026-12-05 12:30"),
        ("+1h30m", "2026-12-05 13:30"),
        ("15:45", "2026-12-05 15:45"),
        ("10:00", "2026-12-06 10:00"),  # passed today: tomorrow
        ("明天10点", "2026-12-06 10:00"),
        ("明天10点半", "2026-12-06 10:30"),
        ("今晚8点", "2026-12-05 20:00"),
        ("明晚8点15", "2026-12-06 20:15"),
        ("后天9:05", "2026-12-07 09:05"),
        ("下午3点", "2026-12-05 15:00"),
    ],
)
def test_times_leaders_type(word: str, local: str) -> None:
    at = parse_when(word, NOW, TZ)
    assert at is not None and at.strftime("%Y-%m-%d %H:%M") == local


@pytest.mark.parametrize("word", ["后年", "25点", "明天", "+0m", "+x", "10:75", "#fruit"])
def test_not_times(word: str) -> None:
    assert parse_when(word, NOW, TZ) is None
