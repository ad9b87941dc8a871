"""When a chat broadcast goes out: the one time word of `/broadcast WHEN TARGET TEXT`.

Leaders type times the way they say them, so the word is small Chinese-first syntax, read in
the bot's timezone (`bot.timezone`):

- `now` / `现在` / `立即` / `马上`: at once;
- `+30m`, `+2h`, `+1h30m`: after a duration (`bot.campaign.times.parse_duration`);
- `10:00`, `10点`, `10点半`, `10点15`: today, or tomorrow when that time has passed;
- a day or part of day before it: `今天`, `明天`, `后天`, `今晚`/`晚上`/`下午` (8点 is 20:00),
  `明晚`, `早上`/`上午`: `明天10点`, `今晚8点`, `明天20:30`.

Pure: the caller passes `now`; no clock is read.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.campaign.times import parse_duration

NOW_WORDS = frozenset({"now", "现在", "立即", "马上", "立刻"})
_DAYS = {"今天": 0, "今晚": 0, "明天": 1, "明晚": 1, "后天": 2, "": 0}
_PM = frozenset({"今晚", "明晚", "晚上", "下午"})
_CLOCK = re.compile(
    r"^(?P<day>今天|今晚|明天|明晚|后天)?(?P<part>早上|上午|下午|晚上)?"
    r"(?P<h>\d{1,2})(?::(?P<m>\d{2})|点(?:(?P<half>半)|(?P<pm>\d{1,2})分?)?)$"
)


def parse_when(word: str, now: datetime, timezone: str) -> datetime | None:
    """The moment `word` names (aware, in `timezone`), or None when it is not a time."""
    word = word.strip().lower()
    local_now = now.astimezone(ZoneInfo(timezone))
    if word in NOW_WORDS:
        return local_now
    if word.startswith("+"):
        try:
            delta = parse_duration(word[1:])
        except ValueError:
            return None
        return local_now + delta if delta > timedelta(0) else None
    match = _CLOCK.match(word)
    if match is None:
        return None
    hour = int(match.group("h"))
    minute = 30 if match.group("half") else int(match.group("m") or match.group("pm") or 0)
    day = match.group("day") or ""
    if (day in _PM or (match.group("part") or "") in _PM) and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        return None
    at = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0) + timedelta(days=_DAYS[day])
    if not day and at <= local_now:
        at += timedelta(days=1)  # a bare time already past today means tomorrow
    return at


__all__ = ["NOW_WORDS", "parse_when"]
