"""Small reusable cross-field checks (duplicates, references, what to post, same instant).

:mod:`bot.campaign.checks` applies these to many sections of a campaign file; each appends an
:class:`~bot.campaign.problems.Issue` with a message that names the other line involved, so the
admin sees both places at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from bot.campaign.positions import Positions
from bot.campaign.problems import Issue, Loc
from bot.campaign.times import TimeSpec, to_utc

__all__ = [
    "LineOf",
    "content",
    "did_you_mean",
    "double_points",
    "duplicates",
    "nonexistent",
    "references",
    "reward_coupon",
    "same_time",
    "showoff",
    "templates",
]


def did_you_mean(word: str, choices: Iterable[str], label: str = "known") -> str:
    """``; did you mean 'x'?``, else the list of valid values when it is short enough to read."""
    options = sorted(choices)
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if match:
        return f"; did you mean '{match[0]}'?"
    if not options:
        return ""
    if len(options) <= 12:
        return f"; {label}: {', '.join(options)}"
    return ""


def nonexistent(naive: datetime, tz: tzinfo) -> bool:
    """True when a wall-clock time falls into a DST gap (it would silently shift an hour)."""
    aware = naive.replace(tzinfo=tz)
    return to_utc(aware).astimezone(tz).replace(tzinfo=None) != naive


@dataclass
class LineOf:
    """Turns a path into "line N" for messages that refer to another place in the file."""

    positions: Positions

    def __call__(self, loc: Loc) -> int:
        return self.positions.value(loc)[0]


def same_time(
    issues: list[Issue], seen: dict[datetime, Loc], at: datetime, loc: Loc, label: str, line: LineOf
) -> None:
    """Two nodes of one kind at one instant would share a node id; ask for one of them to move."""
    if at in seen:
        message = f"another {label} is at the same time (line {line(seen[at])}); merge them or move one"
        issues.append(Issue(loc, message))
    else:
        seen[at] = loc


def duplicates(
    issues: list[Issue],
    line: LineOf,
    section: str,
    items: list[tuple[int, Any]],
    label: str,
    attr: str | None = None,
) -> None:
    """Report every item whose value (``attr`` of it, or itself) an earlier item already has."""
    first: dict[Any, Loc] = {}
    for i, item in items:
        value = getattr(item, attr) if attr else item
        loc: Loc = (section, i, attr) if attr else (section, i)
        if value in first:
            message = f"duplicate {label} '{value}' (first on line {line(first[value])}); make it unique"
            issues.append(Issue(loc, message))
        else:
            first[value] = loc


def content(issues: list[Issue], loc: Loc, post: Any, *, required: bool) -> None:
    if post.text is not None and post.template is not None:
        issues.append(Issue((*loc, "template"), "use either 'text' or 'template', not both", "key"))
    elif required and post.text is None and post.template is None:
        issues.append(Issue(loc, "set 'text' or 'template' (what to post)", "container"))


def references(issues: list[Issue], loc: Loc, codes: list[str], known: set[Any]) -> None:
    for j, code in enumerate(codes):
        if code not in known:
            hint = did_you_mean(code, {c for c in known if isinstance(c, str)}, "known codes")
            issues.append(Issue((*loc, j), f"unknown product code '{code}'{hint}"))


def templates(parts: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
    for name in ("preheat", "red_packets", "followups"):
        for i, post in parts.get(name, []):
            if post.template:
                yield (name, i, "template"), post.template
    for name in ("open", "broadcasts", "close"):
        post = parts.get(name)
        if post is not None and post.template:
            yield (name, "template"), post.template


def double_points(
    issues: list[Issue],
    points: Any,
    when: Callable[[TimeSpec], datetime | None],
    opens: datetime | None,
    closes: datetime | None,
) -> None:
    """Each double-points window of a validated ``points:`` section ends after it starts and
    overlaps the sale (orders are placed only while it is open). Pairs the model could compare
    alone (both ``T±``, both ``C±``, both absolute) were already checked there."""
    if points is None or opens is None:
        return
    for i, window in enumerate(points.double):
        start, end = when(window.from_), when(window.until)
        if start is None or end is None:
            continue
        loc: Loc = ("points", "double", i, "until")
        if to_utc(end) <= to_utc(start):
            issues.append(Issue(loc, f"must be after from ({window.from_}, {start:%Y-%m-%d %H:%M})"))
        elif to_utc(end) <= to_utc(opens) or (closes is not None and to_utc(start) >= to_utc(closes)):
            sale = f"{opens:%Y-%m-%d %H:%M} .. {closes:%Y-%m-%d %H:%M}" if closes else "after opens_at"
            message = (
                f"the window ({start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}) is outside the sale ({sale})"
            )
            issues.append(Issue(("points", "double", i), message, "container"))


def reward_coupon(
    issues: list[Issue],
    loc: Loc,
    coupon_id: str | None,
    coupons: dict[str, Any],
    *,
    reward_only: str = "",
    paid: tuple[str, Callable[[TimeSpec], datetime | None], datetime | None] | None = None,
) -> None:
    """A coupon a section gives as a reward (晒单, referral, 前N名赠礼): one of this file's coupons;
    with `reward_only` (why, appended to the message), marked ``reward: true``; with `paid`
    (what is paid, `when`, closing), still redeemable when it is issued after closing.

    ``coupons``: the file's coupon ids, each with its validated coupon (None if it did not validate).
    """
    if coupon_id is None:
        return
    if coupon_id not in coupons:
        hint = did_you_mean(coupon_id, coupons, "known coupons")
        issues.append(Issue(loc, f"unknown coupon '{coupon_id}'{hint}"))
        return
    coupon = coupons[coupon_id]
    if coupon is None:
        return
    if reward_only and not coupon.reward:
        issues.append(Issue(loc, f"coupon '{coupon_id}' must be 'reward: true'{reward_only}"))
    if paid is None:
        return
    what, when, closes = paid
    if coupon.valid_for is None and coupon.valid_until is None:
        issues.append(
            Issue(loc, f"coupon '{coupon_id}' ends at closing: set its valid_for (e.g. 7d) or valid_until")
        )
    elif coupon.valid_until is not None and closes is not None:
        until = when(coupon.valid_until)
        if until is not None and to_utc(until) <= to_utc(closes):
            issues.append(Issue(loc, f"coupon '{coupon_id}' ends {until:%Y-%m-%d %H:%M}, before {what}"))


def showoff(
    issues: list[Issue],
    section: Any,
    coupons: dict[str, Any],
    when: Callable[[TimeSpec], datetime | None],
    closes: datetime | None,
) -> None:
    """A validated ``showoff:`` section rewards something, with a coupon of this file that is still
    redeemable once issued after closing, in a window that starts at or after closing.

    ``coupons``: the file's coupon ids, each with its validated coupon (None if it did not validate).
    """
    if section is None:
        return
    if section.coupon is None and not section.points:
        issues.append(
            Issue(("showoff",), "set 'coupon' (a coupon id of this file) or 'points', or both", "container")
        )
    reward_coupon(issues, ("showoff", "coupon"), section.coupon, coupons, paid=("晒单 starts", when, closes))
    start, end = when(section.from_), when(section.until)
    if start is not None and closes is not None and to_utc(start) < to_utc(closes):
        issues.append(
            Issue(("showoff", "from"), f"must be at or after closing ({closes:%Y-%m-%d %H:%M}); e.g. 'C'")
        )
    if start is not None and end is not None and to_utc(end) <= to_utc(start):
        issues.append(
            Issue(("showoff", "until"), f"must be after from ({section.from_}, {start:%Y-%m-%d %H:%M})")
        )
