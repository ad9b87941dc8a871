"""Time syntax of campaign files: relative marks (``T-10m``), absolute datetimes and durations.

Admins think in offsets from the opening time T (the documents' "T-10 min 预热黄金时间"), so the
file format lets every timeline entry say ``T-10m``, ``T+30m``, ``T-3d`` or ``T-1d2h``; ``C-1h`` /
``C+1d`` are the same relative to the closing time. Absolute times are accepted too
(``2026-12-01 20:00``, ``2026/12/01 20:00``, ISO 8601 with an offset such as
``2026-12-01T20:00:00+08:00``); a time without an offset is read in the campaign's timezone.

Resolution rule (matters only where clocks change, e.g. ``Europe/Berlin``): whole days move the
wall clock (``T-1d`` of a 20:00 opening is 20:00 the day before, even across a DST change), while
hours, minutes and seconds are elapsed time. That is what an admin means by "the evening before"
and "ten minutes before".

Everything here is pure: no clock is read, so the maths is testable without sleeping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Literal

__all__ = [
    "DURATION_HINT",
    "TIME_HINT",
    "TimeSpec",
    "format_duration",
    "format_elapsed",
    "format_offset",
    "parse_datetime",
    "parse_duration",
    "parse_time_spec",
    "to_utc",
]

TIME_HINT = "expected a time like 'T-10m', 'T+30m', 'T-1d2h', 'C+1h' or '2026-12-01 20:00'"
DURATION_HINT = "expected a duration like '60s', '15m', '2h' or '1h30m'"
OPENING_HINT = "expected a time like '2026-12-05 20:00', '+2h' (after the first load) or '+1d 20:00'"
CLOSING_HINT = "expected a time like '2026-12-06 22:00', 'T+26h' (after opening) or '+1d 22:00'"

MAX_SPAN = timedelta(days=366)
"""Longest duration or offset a campaign may use: past a year it is a typo (``T-99999999999d``)."""
MIN_YEAR = 2000
MAX_YEAR = 2199
"""Absolute times outside these years are typos, and near year 1 or 9999 time zones overflow."""
_MAX_UNIT_DIGITS = 8

Anchor = Literal["T", "C"]

_UNITS: tuple[tuple[str, int], ...] = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_PARTS = r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?"
_DURATION_RE = re.compile(rf"^\s*{_PARTS}\s*$", re.IGNORECASE)
_RELATIVE_RE = re.compile(rf"^\s*(?P<anchor>[TC])\s*(?:(?P<sign>[+-])\s*{_PARTS})?\s*$", re.IGNORECASE)
_ABSOLUTE_RE = re.compile(
    r"^\s*(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})(?:T|\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)


def to_utc(dt: datetime) -> datetime:
    """Return an aware datetime in UTC.

    Python compares and subtracts two datetimes that share a tzinfo object by wall clock,
    ignoring DST; converting to UTC first is the only safe way to order or measure them.
    """
    return dt.astimezone(UTC)


def _match_seconds(match: re.Match[str]) -> tuple[int, int] | None:
    """(days, seconds) from the d/h/m/s groups, or None if no unit was written."""
    groups = [match.group(unit) for unit, _ in _UNITS]
    if all(g is None for g in groups):
        return None
    if any(g is not None and len(g) > _MAX_UNIT_DIGITS for g in groups):
        raise ValueError(_too_long())
    days = int(groups[0] or 0)
    seconds = sum(int(g or 0) * size for g, (_, size) in zip(groups[1:], _UNITS[1:], strict=True))
    if timedelta(days=days, seconds=seconds) > MAX_SPAN:
        raise ValueError(_too_long())
    return days, seconds


def _too_long() -> str:
    return f"too long: at most {MAX_SPAN.days}d (a year)"


def parse_duration(text: str) -> timedelta:
    """Parse ``60s``, ``15m``, ``1h30m``, ``2d`` into a timedelta.

    Raises:
        ValueError: with :data:`DURATION_HINT` when the text is not a duration.
    """
    match = _DURATION_RE.match(text)
    parts = _match_seconds(match) if match else None
    if parts is None:
        raise ValueError(DURATION_HINT)
    days, seconds = parts
    return timedelta(days=days, seconds=seconds)


def format_duration(value: timedelta, *, days: bool = True) -> str:
    """Canonical short form of a duration: ``1d2h``, ``1h30m``, ``45s``; ``0s`` for zero.

    Negative durations get a leading ``-``. With ``days=False`` hours are the largest unit
    (``26h``), for the elapsed part of a relative mark. Used for node ids, so it is deterministic.
    """
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    out = []
    for unit, size in _UNITS if days else _UNITS[1:]:
        amount, total = divmod(total, size)
        if amount:
            out.append(f"{amount}{unit}")
    return sign + ("".join(out) or "0s")


def format_offset(anchor: Anchor, days: int, clock: timedelta) -> str:
    """Canonical relative mark, e.g. ``T-1d2h``, ``T+30m``, ``T-26h``, ``C+1d``; bare ``T`` for zero.

    ``days`` (calendar days) and ``clock`` (elapsed) carry the same sign (see :class:`TimeSpec`);
    they are printed separately so that the text parses back to the same mark.
    """
    if not days and not clock:
        return anchor
    sign = "-" if days < 0 or clock < timedelta(0) else "+"
    text = f"{abs(days)}d" if days else ""
    if clock:
        text += format_duration(abs(clock), days=False)
    return f"{anchor}{sign}{text}"


def format_elapsed(anchor: Anchor, offset: timedelta) -> str:
    """Label for an elapsed offset from an anchor, e.g. ``T-3d``, ``T+2h``; bare ``T`` for zero.

    Used for node ids of absolute times and interval broadcasts, where only the elapsed offset
    is known; days here are 24-hour days.
    """
    if not offset:
        return anchor
    sign = "-" if offset < timedelta(0) else "+"
    return f"{anchor}{sign}{format_duration(abs(offset))}"


def parse_datetime(text: str) -> datetime:
    """Parse an absolute time; naive unless the text carries ``Z`` or an offset.

    Accepts ``2026-12-01 20:00``, ``2026/12/1 20:00:30``, ``2026-12-01T20:00+08:00``.
    A date without a time is refused: an opening at midnight is almost always a mistake.

    Raises:
        ValueError: with :data:`TIME_HINT`, or saying which date does not exist.
    """
    match = _ABSOLUTE_RE.match(text)
    if not match:
        raise ValueError(TIME_HINT)
    tz: tzinfo | None = None
    raw_tz = match.group("tz")
    if raw_tz:
        if raw_tz.upper() == "Z":
            tz = UTC
        else:
            digits = raw_tz[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            tz = timezone(-delta if raw_tz[0] == "-" else delta)
    year = int(match.group("y"))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year {year} is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}")
    try:
        return datetime(
            year,
            int(match.group("mo")),
            int(match.group("d")),
            int(match.group("h")),
            int(match.group("mi")),
            int(match.group("s") or 0),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise ValueError(f"'{text.strip()}' is not a real date or time ({exc})") from None


@dataclass(frozen=True)
class TimeSpec:
    """A point on the campaign timeline as written in the file.

    Either relative (``anchor`` is ``"T"`` for opening or ``"C"`` for closing, ``days`` whole
    calendar days and ``clock`` elapsed time, both with the same sign) or absolute (``at``, naive
    meaning "in the campaign timezone"). Kept unresolved in the model so that moving ``opens_at``
    moves every relative node with it.
    """

    anchor: Anchor | None = None
    days: int = 0
    clock: timedelta = timedelta(0)
    at: datetime | None = None

    @classmethod
    def relative(cls, anchor: Anchor, offset: timedelta, days: int = 0) -> TimeSpec:
        """Build a relative mark: ``days`` calendar days plus an elapsed ``offset`` (same sign)."""
        return cls(anchor=anchor, days=days, clock=offset)

    @classmethod
    def absolute(cls, at: datetime) -> TimeSpec:
        """Build an absolute mark (naive means campaign timezone)."""
        return cls(at=at)

    @property
    def is_relative(self) -> bool:
        """True for ``T±…``/``C±…`` marks."""
        return self.anchor is not None

    def __str__(self) -> str:
        if self.anchor is not None:
            return format_offset(self.anchor, self.days, self.clock)
        assert self.at is not None
        text = self.at.strftime("%Y-%m-%d %H:%M")
        if self.at.second:
            text += f":{self.at.second:02d}"
        if self.at.tzinfo is not None:
            text = self.at.isoformat(timespec="seconds")
        return text

    def resolve(self, opens_at: datetime, closes_at: datetime | None, tz: tzinfo) -> datetime:
        """Absolute, aware time in ``tz``.

        Args:
            opens_at: aware opening time (T).
            closes_at: aware closing time (C); may be None only when this is not a ``C`` mark.
            tz: the campaign timezone, used for naive absolute times and for the result.

        Raises:
            ValueError: a ``C`` mark without a closing time.
        """
        if self.at is not None:
            return self.at.replace(tzinfo=tz) if self.at.tzinfo is None else self.at.astimezone(tz)
        base = opens_at if self.anchor == "T" else closes_at
        if base is None:
            raise ValueError("a 'C' time needs closes_at")
        local = base.astimezone(tz)
        if self.days:
            # Wall-clock day arithmetic, then normalise a time that fell into a DST gap/overlap.
            local = to_utc(local + timedelta(days=self.days)).astimezone(tz)
        return (to_utc(local) + self.clock).astimezone(tz)

    def shifted(self, delta: timedelta) -> TimeSpec:
        """The same mark moved by ``delta``; relative marks already follow their anchor."""
        if self.at is None:
            return self
        return TimeSpec(at=self.at + delta)


def parse_time_spec(text: str) -> TimeSpec:
    """Parse ``T-10m``, ``T+30m``, ``T-1d2h``, ``C+1h``, ``T`` or an absolute time.

    Raises:
        ValueError: with :data:`TIME_HINT` (or the reason an absolute date is impossible).
    """
    match = _RELATIVE_RE.match(text)
    if match:
        anchor: Anchor = "T" if match.group("anchor").upper() == "T" else "C"
        if match.group("sign") is None:
            return TimeSpec(anchor=anchor)
        parts = _match_seconds(match)
        if parts is None:
            raise ValueError(TIME_HINT)
        sign = -1 if match.group("sign") == "-" else 1
        days, seconds = parts
        return TimeSpec(anchor=anchor, days=sign * days, clock=timedelta(seconds=sign * seconds))
    return TimeSpec(at=parse_datetime(text))


_ANCHORED_RE = re.compile(
    rf"^\s*\+\s*{_PARTS}(?:\s+(?P<hh>\d{{1,2}}):(?P<mm>\d{{2}}))?\s*$",
    re.IGNORECASE,
)
_DATE_ONLY_RE = re.compile(r"^\s*(?P<date>\d{4}[-/]\d{1,2}[-/]\d{1,2})\s*$")


def is_anchored(value: object) -> bool:
    """True for ``+2h`` / ``+1d 20:00``: a time counted from when the bot first loaded the campaign."""
    return isinstance(value, str) and _ANCHORED_RE.match(value) is not None


def _anchored(text: str, anchor: datetime, tz: tzinfo) -> datetime:
    """``+2h`` is the anchor plus two hours; ``+1d 20:00`` is 20:00 local time one day after it."""
    match = _ANCHORED_RE.match(text)
    assert match is not None
    parts = _match_seconds(match)
    if match.group("hh") is None:
        if parts is None:
            raise ValueError(OPENING_HINT)
        days, seconds = parts
        return (to_utc(anchor) + timedelta(days=days, seconds=seconds)).astimezone(tz)
    days, seconds = parts or (0, 0)
    if seconds:
        raise ValueError("with a time of day, count whole days only, e.g. '+1d 20:00'")
    hour, minute = int(match.group("hh")), int(match.group("mm"))
    if hour > 23 or minute > 59:
        raise ValueError(f"'{hour}:{minute:02d}' is not a time of day")
    day = anchor.astimezone(tz).date() + timedelta(days=days)
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    return to_utc(local).astimezone(tz)  # a time in a DST gap moves to a real instant


def _absolute(text: str, hint: str) -> datetime:
    date_only = _DATE_ONLY_RE.match(text)
    if date_only:
        raise ValueError(f"add a time: '{date_only.group('date')} 20:00'")
    try:
        return parse_datetime(text)
    except ValueError as exc:
        raise ValueError(hint if str(exc) == TIME_HINT else str(exc)) from None


def resolve_opening(text: str, anchor: datetime, tz: tzinfo) -> datetime:
    """The opening time T from ``opens_at``: absolute (naive = ``tz``) or counted from ``anchor``.

    Raises:
        ValueError: with a hint saying what to write instead.
    """
    if is_anchored(text):
        return _anchored(text, anchor, tz)
    return _absolute(text, OPENING_HINT)


def resolve_closing(text: str, anchor: datetime, opens_at: datetime | None, tz: tzinfo) -> datetime:
    """The closing time C from ``closes_at``: absolute, ``T+26h`` (after opening) or like an opening.

    Raises:
        ValueError: with a hint; also when ``T+…`` is used but the opening itself is invalid.
    """
    if is_anchored(text):
        return _anchored(text, anchor, tz)
    match = _RELATIVE_RE.match(text)
    if match:
        spec = parse_time_spec(text)
        if spec.anchor != "T":
            raise ValueError(CLOSING_HINT + "; 'C' here would be relative to itself")
        if opens_at is None:
            raise ValueError("is counted from opens_at, which has a problem; fix opens_at first")
        return spec.resolve(opens_at, None, tz)
    return _absolute(text, CLOSING_HINT)
