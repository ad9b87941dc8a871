"""Time syntax: relative marks, absolute times, durations, and DST-aware resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.campaign.times import (
    DURATION_HINT,
    TIME_HINT,
    TimeSpec,
    format_duration,
    format_elapsed,
    parse_datetime,
    parse_duration,
    parse_time_spec,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "anchor", "days", "clock"),
    [
        ("T-10m", "T", 0, timedelta(minutes=-10)),
        ("T+30m", "T", 0, timedelta(minutes=30)),
        ("T-3d", "T", -3, timedelta(0)),
        ("T-1d2h", "T", -1, timedelta(hours=-2)),
        ("T+1h30m", "T", 0, timedelta(minutes=90)),
        ("T - 90s", "T", 0, timedelta(seconds=-90)),
        ("t-5m", "T", 0, timedelta(minutes=-5)),
        ("T", "T", 0, timedelta(0)),
        ("C+1d", "C", 1, timedelta(0)),
        ("C-1h", "C", 0, timedelta(hours=-1)),
        ("C", "C", 0, timedelta(0)),
    ],
)
def test_parse_relative(text: str, anchor: str, days: int, clock: timedelta) -> None:
    spec = parse_time_spec(text)
    assert (spec.anchor, spec.days, spec.clock, spec.at) == (anchor, days, clock, None)


@pytest.mark.parametrize(
    "text", ["T-10m", "T+30m", "T-3d", "T-1d2h", "T-26h", "T+1h30m", "C+1d", "T", "C-45s"]
)
def test_relative_marks_print_canonically_and_round_trip(text: str) -> None:
    assert str(parse_time_spec(text)) == text
    assert parse_time_spec(str(parse_time_spec(text))) == parse_time_spec(text)


def test_canonical_form_normalises_units() -> None:
    assert str(parse_time_spec("T+90m")) == "T+1h30m"
    assert str(parse_time_spec("T-120s")) == "T-2m"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01 20:00", datetime(2026, 12, 1, 20, 0)),
        ("2026-12-01T20:00:30", datetime(2026, 12, 1, 20, 0, 30)),
        ("2026/12/1 8:05", datetime(2026, 12, 1, 8, 5)),
        ("2026-12-01T20:00:00+08:00", datetime(2026, 12, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))),
        ("2026-12-01 12:00Z", datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
        ("2026-12-01 20:00 -0500", datetime(2026, 12, 1, 20, 0, tzinfo=timezone(timedelta(hours=-5)))),
    ],
)
def test_parse_absolute(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected
    assert parse_time_spec(text) == TimeSpec(at=expected)


@pytest.mark.parametrize("text", ["tomorrow", "T-10", "T+", "T-10min", "2026-12-01", "20:00", "T-1x", ""])
def test_unparsable_times_say_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="expected a time like 'T-10m'") as info:
        parse_time_spec(text)
    assert str(info.value) == TIME_HINT


def test_impossible_date_is_named() -> None:
    with pytest.raises(ValueError, match="not a real date"):
        parse_time_spec("2026-02-30 10:00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(minutes=90)),
        ("60s", timedelta(seconds=60)),
        ("2d", timedelta(days=2)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "m", "1.5h", "-5m", "15 minutes"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration") as info:
        parse_duration(text)
    assert str(info.value) == DURATION_HINT


def test_format_duration_and_elapsed() -> None:
    assert format_duration(timedelta(days=1, hours=2)) == "1d2h"
    assert format_duration(timedelta(days=1, hours=2), days=False) == "26h"
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(minutes=-5)) == "-5m"
    assert format_elapsed("T", timedelta(days=-3)) == "T-3d"
    assert format_elapsed("C", timedelta(hours=14)) == "C+14h"
    assert format_elapsed("T", timedelta(0)) == "T"


def test_resolve_relative_in_shanghai() -> None:
    opens = datetime(2026, 12, 5, 20, 0, tzinfo=SHANGHAI)
    closes = datetime(2026, 12, 6, 22, 0, tzinfo=SHANGHAI)
    assert parse_time_spec("T-10m").resolve(opens, closes, SHANGHAI) == datetime(
        2026, 12, 5, 19, 50, tzinfo=SHANGHAI
    )
    assert parse_time_spec("T-1d2h").resolve(opens, closes, SHANGHAI) == datetime(
        2026, 12, 4, 18, 0, tzinfo=SHANGHAI
    )
    assert parse_time_spec("C+1d").resolve(opens, closes, SHANGHAI) == datetime(
        2026, 12, 7, 22, 0, tzinfo=SHANGHAI
    )


def test_resolve_absolute_naive_and_aware() -> None:
    opens = datetime(2026, 12, 5, 20, 0, tzinfo=SHANGHAI)
    naive = parse_time_spec("2026-12-01 09:00").resolve(opens, None, SHANGHAI)
    assert naive == datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    aware = parse_time_spec("2026-12-01T01:00:00Z").resolve(opens, None, SHANGHAI)
    assert aware.utcoffset() == timedelta(hours=8)
    assert (aware.hour, aware.minute) == (9, 0)


def test_c_mark_needs_closing_time() -> None:
    opens = datetime(2026, 12, 5, 20, 0, tzinfo=SHANGHAI)
    with pytest.raises(ValueError, match="closes_at"):
        parse_time_spec("C+1h").resolve(opens, None, SHANGHAI)


def test_days_keep_the_wall_clock_across_dst() -> None:
    """Berlin springs forward on 2026-03-29: T-1d of a 20:00 opening is still 20:00 local."""
    opens = datetime(2026, 3, 29, 20, 0, tzinfo=BERLIN)  # CEST, +02:00
    day_before = parse_time_spec("T-1d").resolve(opens, None, BERLIN)
    assert day_before == datetime(2026, 3, 28, 20, 0, tzinfo=BERLIN)
    assert day_before.utcoffset() == timedelta(hours=1)  # CET
    assert opens.astimezone(UTC) - day_before.astimezone(UTC) == timedelta(hours=23)


def test_hours_are_elapsed_time_across_dst() -> None:
    """T-24h is exactly 24 hours earlier, which is 19:00 local across the change."""
    opens = datetime(2026, 3, 29, 20, 0, tzinfo=BERLIN)
    earlier = parse_time_spec("T-24h").resolve(opens, None, BERLIN)
    assert earlier == datetime(2026, 3, 28, 19, 0, tzinfo=BERLIN)
    # Ten minutes before 03:05 CEST is 01:55 CET: the gap hour is skipped, not double-counted.
    early = datetime(2026, 3, 29, 3, 5, tzinfo=BERLIN)
    assert parse_time_spec("T-10m").resolve(early, None, BERLIN) == datetime(
        2026, 3, 29, 1, 55, tzinfo=BERLIN
    )


def test_shifted_moves_only_absolute_marks() -> None:
    relative = parse_time_spec("T-10m")
    assert relative.shifted(timedelta(hours=1)) is relative
    absolute = parse_time_spec("2026-12-01 20:00")
    assert absolute.shifted(timedelta(hours=1)) == parse_time_spec("2026-12-01 21:00")
