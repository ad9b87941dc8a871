"""Cross-field checks of a campaign file: times in order, references, duplicates, templates.

Pydantic validates one field at a time; these checks need several (a countdown must come before
the opening, a coupon must name a known product). Each section is validated on its own first, so
a broken product does not hide a countdown after the opening: one run reports every problem.
"""

from __future__ import annotations

import contextlib
import typing
import zoneinfo
from datetime import datetime, timedelta, tzinfo
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bot.campaign.gift_checks import gift_issues
from bot.campaign.leaderboard_checks import leaderboard
from bot.campaign.models import DEFAULT_TIMEZONE, Campaign
from bot.campaign.positions import Positions
from bot.campaign.problems import Issue, Loc, Where
from bot.campaign.referral_checks import referral
from bot.campaign.reopen_checks import reopen
from bot.campaign.section_checks import (
    LineOf,
    content,
    did_you_mean,
    double_points,
    duplicates,
    nonexistent,
    references,
    same_time,
    showoff,
    templates,
)
from bot.campaign.times import TimeSpec, to_utc

__all__ = ["MAX_BROADCASTS", "MIN_INTERVAL", "semantic_issues"]

MAX_BROADCASTS = 500
"""Upper bound on expanded interval broadcasts: more is a typo (``every: 1m`` for a week)."""

MIN_INTERVAL = timedelta(minutes=1)


@cache
def _adapter(name: str, item: bool) -> TypeAdapter[Any]:
    """TypeAdapter for one Campaign field (or its list item type), to validate sections alone."""
    info = Campaign.model_fields[name]
    annotation: Any = info.annotation
    if item:
        annotation = typing.get_args(annotation)[0]
    elif info.metadata:
        annotation = typing.Annotated[(annotation, *info.metadata)]
    return TypeAdapter(annotation)


def _sections(data: dict[Any, Any], anchor: datetime) -> dict[str, Any]:
    """Each top-level field validated on its own; list fields item by item as ``(index, item)``.

    Whatever validates is checked further even when other parts of the file are broken, so one
    run reports all the problems.
    """
    parts: dict[str, Any] = {}
    for name, info in Campaign.model_fields.items():
        is_list = typing.get_origin(info.annotation) is list
        if name not in data:
            if not info.is_required():
                default = info.get_default(call_default_factory=True)
                parts[name] = list(enumerate(default)) if is_list else default
            continue
        raw = data[name]
        if is_list:
            if not isinstance(raw, list):
                continue
            items = []
            for i, value in enumerate(raw):
                with contextlib.suppress(ValidationError):
                    items.append((i, _adapter(name, True).validate_python(value)))
            parts[name] = items
        else:
            # opens_at and closes_at are read in the campaign timezone, closes_at may count from
            # opens_at: give them what validated before them (fields are in file-format order).
            context = {"anchor": anchor, **{k: v for k, v in parts.items() if k in ("timezone", "opens_at")}}
            with contextlib.suppress(ValidationError):
                parts[name] = _adapter(name, False).validate_python(raw, context=context)
    return parts


def _raw_list(data: dict[Any, Any], name: str) -> list[Any]:
    value = data.get(name)
    return value if isinstance(value, list) else []


def _raw_texts(data: dict[Any, Any], section: str, key: str) -> set[str]:
    """Text values of ``key`` in a section's items as written (a list-valued id is no id)."""
    items = _raw_list(data, section)
    return {v for item in items if isinstance(item, dict) and isinstance(v := item.get(key), str) and v}


def _local(value: datetime, tz: tzinfo) -> datetime:
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def _fmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def semantic_issues(
    data: dict[Any, Any], known_templates: set[str] | None, positions: Positions, anchor: datetime
) -> list[Issue]:
    """Checks that need several fields; each is skipped when its inputs did not validate."""
    parts = _sections(data, anchor)
    line = LineOf(positions)
    issues: list[Issue] = []

    def add(loc: Loc, message: str, where: Where = "value") -> None:
        issues.append(Issue(loc, message, where))

    # Groups: a campaign that targets nobody is certainly a mistake.
    if not data.get("groups") and not data.get("group_tags"):
        add(("groups",), "set 'groups' (group ids) or 'group_tags'; the campaign targets no group", "key")
    duplicates(issues, line, "groups", parts.get("groups", []), "group")

    tz: tzinfo = zoneinfo.ZoneInfo(parts.get("timezone", DEFAULT_TIMEZONE))
    opens = parts.get("opens_at")
    closes = parts.get("closes_at")
    for name, value in (("opens_at", opens), ("closes_at", closes)):
        if isinstance(value, datetime) and value.tzinfo is None and nonexistent(value, tz):
            add((name,), f"{_fmt(value)} does not exist in {tz} (clocks jump forward); pick another time")
    opens = _local(opens, tz) if isinstance(opens, datetime) else None
    closes = _local(closes, tz) if isinstance(closes, datetime) else None
    if opens and closes and to_utc(closes) <= to_utc(opens):
        add(("closes_at",), f"must be after opens_at ({_fmt(opens)}); check the date")
        closes = None  # ordering checks against a wrong close would only add noise

    def when(spec: TimeSpec) -> datetime | None:
        if opens is None or (spec.anchor == "C" and closes is None):
            return None
        return spec.resolve(opens, closes, tz)

    def before_open(section: str, label: str, items: list[tuple[int, Any]], attr: str | None) -> None:
        seen: dict[datetime, Loc] = {}
        for i, item in items:
            spec = getattr(item, attr) if attr else item
            loc: Loc = (section, i, attr) if attr else (section, i)
            at = when(spec)
            if at is None or opens is None:
                continue
            if to_utc(at) >= to_utc(opens):
                add(
                    loc,
                    f"{label} at {spec} ({_fmt(at)}) must be before opening ({_fmt(opens)}); e.g. 'T-10m'",
                )
            same_time(issues, seen, to_utc(at), loc, label, line)

    # Products and the codes other sections may reference (raw codes, so one broken product
    # does not turn every reference to it into a second error).
    products = parts.get("products", [])
    duplicates(issues, line, "products", products, "product code", attr="code")
    codes = _raw_texts(data, "products", "code")
    coupon_ids = _raw_texts(data, "coupons", "id")

    # Preheat
    preheat = parts.get("preheat", [])
    before_open("preheat", "preheat post", preheat, "at")
    for i, post in preheat:
        content(issues, ("preheat", i), post, required=True)
        references(issues, ("preheat", i, "products"), post.products, codes)
        if post.coupon is not None and post.coupon not in coupon_ids:
            hint = did_you_mean(post.coupon, {c for c in coupon_ids if isinstance(c, str)}, "known coupons")
            add(("preheat", i, "coupon"), f"unknown coupon '{post.coupon}'{hint}")

    before_open("countdowns", "countdown", parts.get("countdowns", []), None)

    red_packets = parts.get("red_packets", [])
    before_open("red_packets", "red-packet burst", red_packets, "at")
    coupon_keywords = _raw_texts(data, "coupons", "keyword")
    for i, burst in red_packets:
        content(issues, ("red_packets", i), burst, required=False)
        if burst.budget_cents < burst.packets:
            add(
                ("red_packets", i, "budget"),
                "less than 0.01 per packet; raise the budget or use fewer packets",
            )
        if burst.keyword in coupon_keywords:
            add(
                ("red_packets", i, "keyword"), f"'{burst.keyword}' is also a coupon keyword; use another word"
            )

    if "open" in parts:
        content(issues, ("open",), parts["open"], required=False)
    if "close" in parts:
        content(issues, ("close",), parts["close"], required=False)

    broadcasts = parts.get("broadcasts")
    if broadcasts is not None:
        content(issues, ("broadcasts",), broadcasts, required=False)
        seen_broadcasts: dict[datetime, Loc] = {}
        for i, spec in enumerate(broadcasts.at):
            at = when(spec)
            if at is None or opens is None:
                continue
            loc: Loc = ("broadcasts", "at", i)
            if to_utc(at) < to_utc(opens) or (closes is not None and to_utc(at) > to_utc(closes)):
                end = _fmt(closes) if closes else "closes_at"
                add(loc, f"broadcast at {spec} ({_fmt(at)}) is outside the sale ({_fmt(opens)} .. {end})")
            same_time(issues, seen_broadcasts, to_utc(at), loc, "broadcast", line)
        every = broadcasts.every
        if every is not None:
            if every < MIN_INTERVAL:
                add(("broadcasts", "every"), "must be at least 1m; groups must not be spammed")
            elif opens and closes and (to_utc(closes) - to_utc(opens)) / every > MAX_BROADCASTS:
                add(
                    ("broadcasts", "every"),
                    f"makes more than {MAX_BROADCASTS} broadcasts; use a longer interval",
                )

    followups = parts.get("followups", [])
    seen_followups: dict[datetime, Loc] = {}
    for i, post in followups:
        content(issues, ("followups", i), post, required=True)
        at = when(post.at)
        if at is None or closes is None:
            continue
        if to_utc(at) < to_utc(closes):
            add(
                ("followups", i, "at"),
                f"follow-up at {post.at} ({_fmt(at)}) must be after closing; e.g. 'C+1d'",
            )
        same_time(issues, seen_followups, to_utc(at), ("followups", i, "at"), "follow-up", line)

    double_points(issues, parts.get("points"), when, opens, closes)
    validated = {c.id: c for _, c in parts.get("coupons", [])}
    showoff(issues, parts.get("showoff"), {cid: validated.get(cid) for cid in coupon_ids}, when, closes)
    gift_issues(issues, parts.get("gifts"), {cid: validated.get(cid) for cid in coupon_ids}, codes)
    leaderboard(issues, parts.get("leaderboard"), parts.get("broadcasts"))
    sale_prices = {code: -1 for code in codes} | {p.code: p.price_cents for _, p in products}
    reopen(issues, parts.get("reopen"), when, closes, sale_prices)
    referral(issues, parts.get("referral"), {cid: validated.get(cid) for cid in coupon_ids}, when, closes)

    coupons = parts.get("coupons", [])
    duplicates(issues, line, "coupons", coupons, "coupon id", attr="id")
    keyworded = [(i, c) for i, c in coupons if c.keyword]
    duplicates(issues, line, "coupons", keyworded, "coupon keyword", attr="keyword")
    for i, coupon in coupons:
        if coupon.keyword is None and not coupon.on_join and not coupon.reward:
            add(
                ("coupons", i),
                "set 'keyword' (issued when typed), 'on_join: true' (newcomer gift) "
                "or 'reward: true' (only for 晒单有礼 and lottery prizes)",
                "container",
            )
        references(issues, ("coupons", i, "products"), coupon.products, codes)
        if coupon.min_spend and coupon.amount >= coupon.min_spend:
            add(("coupons", i, "amount"), f"must be less than min_spend ({coupon.min_spend})")
        if coupon.valid_for is not None and coupon.valid_until is not None:
            add(("coupons", i, "valid_for"), "use either 'valid_until' or 'valid_for', not both")
        valid_from = when(coupon.valid_from) if coupon.valid_from else None
        valid_until = when(coupon.valid_until) if coupon.valid_until else None
        if valid_from and valid_until and to_utc(valid_until) <= to_utc(valid_from):
            add(("coupons", i, "valid_until"), f"must be after valid_from ({_fmt(valid_from)})")

    tiers = parts.get("spend_tiers", [])
    duplicates(issues, line, "spend_tiers", tiers, "spend tier", attr="min_spend")
    for i, tier in tiers:
        if tier.off >= tier.min_spend:
            add(("spend_tiers", i, "off"), f"must be less than min_spend ({tier.min_spend})")

    for i, entry in parts.get("faq", []):
        if not entry.keywords and not entry.examples:
            add(("faq", i), "add 'keywords' or 'examples' so members' questions can match", "container")

    duplicates(issues, line, "pickup_points", parts.get("pickup_points", []), "pickup point", attr="name")

    if known_templates is not None:
        for loc, template in templates(parts):
            if template not in known_templates:
                hint = did_you_mean(template, known_templates, "known templates")
                add(loc, f"unknown template '{template}'{hint}")
    return issues
