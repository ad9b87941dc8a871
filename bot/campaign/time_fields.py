"""Campaign field types for times: timeline marks, durations, timezones, quiet hours, T and C.

Each type validates itself with a short, actionable message and declares its JSON Schema, like
those in :mod:`bot.campaign.values`. Opening and closing need what the loader passes in the
validation context (the anchor of ``+2h``, the campaign timezone, the validated opening), so the
helpers that read that context live here with them.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from bot.campaign.times import (
    CLOSING_HINT,
    DURATION_HINT,
    MAX_SPAN,
    OPENING_HINT,
    TIME_HINT,
    TimeSpec,
    format_duration,
    parse_duration,
    parse_time_spec,
    resolve_closing,
    resolve_opening,
)

__all__ = [
    "DEFAULT_TIMEZONE",
    "Closing",
    "Duration",
    "Opening",
    "QuietHours",
    "Timezone",
    "When",
    "in_quiet_hours",
]

DEFAULT_TIMEZONE = "Asia/Shanghai"


def _time_spec(value: object) -> TimeSpec:
    if isinstance(value, TimeSpec):
        return value
    if isinstance(value, datetime):
        return TimeSpec.absolute(value)
    if isinstance(value, str):
        try:
            return parse_time_spec(value)
        except ValueError as exc:
            raise PydanticCustomError("time", str(exc)) from None
    raise PydanticCustomError("time", TIME_HINT + "; put it in quotes if in doubt")


_ABSOLUTE_PATTERN = (
    r"^\s*\d{4}[-/]\d{1,2}[-/]\d{1,2}(T|\s+)\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_TIME_PATTERN = (
    r"^\s*([TtCc](\s*[+-]\s*(\d+d)?(\d+h)?(\d+m)?(\d+s)?)?"
    r"|\d{4}[-/]\d{1,2}[-/]\d{1,2}(T|\s+)\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)\s*$"
)

When = Annotated[
    TimeSpec,
    PlainValidator(_time_spec),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _TIME_PATTERN,
            "description": "T±offset (relative to opening), C±offset (relative to closing) "
            "or an absolute time; units d h m s, e.g. T-10m, T+30m, T-1d2h, C+1d, 2026-12-05 20:00",
            "examples": ["T-10m", "T+30m", "T-3d", "C+1d", "2026-12-05 20:00"],
        }
    ),
]
"""A point on the timeline, relative (``T-10m``) or absolute."""


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, str):
        try:
            duration = parse_duration(value)
        except ValueError as exc:
            raise PydanticCustomError("duration", str(exc)) from None
    else:
        raise PydanticCustomError("duration", DURATION_HINT + " (with a unit)")
    if duration <= timedelta(0):
        raise PydanticCustomError("duration", "must be longer than 0s")
    if duration > MAX_SPAN:
        raise PydanticCustomError("duration", f"too long: at most {MAX_SPAN.days}d (a year)")
    return duration


Duration = Annotated[
    timedelta,
    PlainValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(\d+d)?(\d+h)?(\d+m)?(\d+s)?\s*$",
            "description": "Duration with units d h m s, e.g. 60s, 15m, 1h30m",
            "examples": ["60s", "15m", "2h", "1h30m"],
        }
    ),
]
"""A positive duration such as ``15m``."""


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


_TZ_HINTS = {
    "asia/beijing": "Asia/Shanghai",
    "beijing": "Asia/Shanghai",
    "china": "Asia/Shanghai",
    "cst": "Asia/Shanghai",
}
"""Names admins in China plausibly write; difflib would suggest Asia/Brunei for Asia/Beijing."""


def _timezone(value: object) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("timezone", "expected an IANA timezone name like 'Asia/Shanghai'")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = [_TZ_HINTS[value.lower()]] if value.lower() in _TZ_HINTS else []
        close = close or difflib.get_close_matches(value, sorted(_timezones()), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; use an IANA name like 'Asia/Shanghai'"
        raise PydanticCustomError("timezone", "unknown timezone '{tz}'" + hint, {"tz": value}) from None
    return value


Timezone = Annotated[
    str,
    PlainValidator(_timezone),
    WithJsonSchema({"type": "string", "description": "IANA timezone", "examples": ["Asia/Shanghai"]}),
]

_QUIET_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _quiet_hours(value: object) -> tuple[time, time]:
    if isinstance(value, tuple):
        return value  # already parsed (model_copy, programmatic construction)
    match = _QUIET_RE.match(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = time(h1, m1), time(h2, m2)
    except ValueError:
        raise PydanticCustomError("quiet_hours", "expected local hours like '23:00-08:00'") from None
    if start == end:
        raise PydanticCustomError("quiet_hours", "start and end are equal; remove quiet_hours instead")
    return start, end


QuietHours = Annotated[
    tuple[time, time],
    PlainValidator(_quiet_hours),
    PlainSerializer(lambda v: f"{v[0]:%H:%M}-{v[1]:%H:%M}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": _QUIET_RE.pattern, "examples": ["23:00-08:00"]}),
]
"""A local time range (may wrap midnight) during which interval broadcasts are skipped."""


def in_quiet_hours(moment: time, quiet: tuple[time, time]) -> bool:
    """True when ``moment`` lies in ``[start, end)``; the range may wrap midnight."""
    start, end = quiet
    return start <= moment < end if start < end else (moment >= start or moment < end)


def _context(info: ValidationInfo, name: str) -> Any:
    """A value the loader passes in the validation context, or the already-validated field."""
    data = info.data if isinstance(getattr(info, "data", None), dict) else {}
    if name in data:
        return data[name]
    return (info.context or {}).get(name)


def _campaign_tz(info: ValidationInfo) -> tzinfo:
    name = _context(info, "timezone")
    try:
        return zoneinfo.ZoneInfo(name) if isinstance(name, str) else zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)


def _anchor(info: ValidationInfo) -> datetime:
    """When relative openings (``+2h``) count from: the loader's anchor, else now."""
    anchor = (info.context or {}).get("anchor")
    return anchor if isinstance(anchor, datetime) else datetime.now(UTC)


def _opening(value: object, info: ValidationInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("opening", OPENING_HINT + "; put it in quotes if in doubt")
    try:
        return resolve_opening(value, _anchor(info), _campaign_tz(info))
    except ValueError as exc:
        raise PydanticCustomError("opening", str(exc)) from None


def _closing(value: object, info: ValidationInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("closing", CLOSING_HINT + "; put it in quotes if in doubt")
    opens = _context(info, "opens_at")
    try:
        return resolve_closing(
            value, _anchor(info), opens if isinstance(opens, datetime) else None, _campaign_tz(info)
        )
    except ValueError as exc:
        raise PydanticCustomError("closing", str(exc)) from None


_ANCHORED_PATTERN = r"\+\s*(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\s+\d{1,2}:\d{2})?"

Opening = Annotated[
    datetime,
    PlainValidator(_opening),
    PlainSerializer(lambda dt: dt.isoformat(sep=" ", timespec="minutes"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*({_ANCHORED_PATTERN}|{_ABSOLUTE_PATTERN[4:-4]})\s*$",
            "description": "Absolute time (without an offset: campaign timezone), or counted from when "
            "the bot first loaded this campaign: '+2h', '+1d 20:00' (tomorrow at 20:00)",
            "examples": ["2026-12-05 20:00", "+2h", "+1d 20:00"],
        }
    ),
]
"""The opening time T: absolute, or relative to the campaign's anchor (its first load)."""

Closing = Annotated[
    datetime,
    PlainValidator(_closing),
    PlainSerializer(lambda dt: dt.isoformat(sep=" ", timespec="minutes"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*([Tt]\s*\+\s*(\d+d)?(\d+h)?(\d+m)?(\d+s)?|{_ANCHORED_PATTERN}"
            rf"|{_ABSOLUTE_PATTERN[4:-4]})\s*$",
            "description": "Absolute time, 'T+26h' (after opening), or like opens_at: '+1d 22:00'",
            "examples": ["2026-12-06 22:00", "T+26h", "+2d 22:00"],
        }
    ),
]
"""The closing time C: absolute, ``T+…`` after the opening, or relative to the anchor."""
