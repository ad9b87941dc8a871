"""Load campaign YAML files and report every problem with ``file:line:column``.

Admins edit these files by hand while a sale may be running, so a typo must come back as a
precise, complete list of problems — never a traceback, never "fix this one, then see the
next". The pipeline:

1. ruamel.yaml round-trip parse: keeps the line/column of every key and value; duplicate keys
   are collected (first one wins) instead of aborting the parse.
2. Pydantic validation of the whole file: every type/range/unknown-key/missing-key error, with
   the error ``loc`` mapped back to the YAML position.
3. Cross-field checks (times in order, references, duplicates, templates) on every section
   that validated on its own, so that a broken product does not hide a countdown after opening.
"""

from __future__ import annotations

import contextlib
import difflib
import types
import typing
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

from loguru import logger
from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.campaign.models import DEFAULT_TIMEZONE, Campaign
from bot.campaign.reader import MAX_FILE_BYTES, read_yaml
from bot.campaign.reader import Positions as _Positions
from bot.campaign.times import TimeSpec, is_anchored, to_utc

__all__ = [
    "Anchor",
    "CampaignError",
    "FileReport",
    "Problem",
    "check_paths",
    "duplicate_id_problem",
    "format_problems",
    "load_campaign",
    "parse_campaign",
    "validate_paths",
]

Loc = tuple[str | int, ...]
Position = tuple[int, int]
Where = Literal["value", "key", "container"]

MAX_BROADCASTS = 500
"""Upper bound on expanded interval broadcasts: more is a typo (``every: 1m`` for a week)."""

MIN_INTERVAL = timedelta(minutes=1)

_KEY_HINTS = {
    "group_ids": "groups",
    "group": "groups",
    "tz": "timezone",
    "start": "opens_at",
    "open_at": "opens_at",
    "end": "closes_at",
    "close_at": "closes_at",
    "limit": "limit_per_member",
    "redpackets": "red_packets",
    "tiers": "spend_tiers",
}
"""Keys admins plausibly write that difflib would not map to the right field."""


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a campaign file, printed like a compiler error.

    ``line`` and ``column`` are 1-based; ``field`` is the path inside the file, e.g.
    ``products[0].price`` (empty for problems about the whole file).
    """

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field or '(file)'}: {self.message}"


class CampaignError(Exception):
    """A campaign file could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(format_problems(self.problems))


def format_problems(problems: Iterable[Problem]) -> str:
    """All problems, one per line, as ``file:line:column: field: message``."""
    return "\n".join(str(p) for p in problems)


# --------------------------------------------------------------------------- helpers


def _path(loc: Loc) -> str:
    """``("products", 0, "price")`` → ``products[0].price``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``| None`` to reach the type that decides the next path step."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class whose fields live at ``loc`` (for "did you mean" suggestions)."""
    annotation: Any = Campaign
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            if typing.get_origin(annotation) is not list:
                return None
            annotation = typing.get_args(annotation)[0]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(part)
            if info is None:
                return None
            annotation = info.annotation
        else:
            return None
    annotation = _unwrap(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    options = sorted(choices)
    if word in _KEY_HINTS and _KEY_HINTS[word] in options:
        return _KEY_HINTS[word]
    lowered = {o.lower(): o for o in options}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _short(value: object) -> str:
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_TYPE_MESSAGES = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number like 0.2",
    "float_parsing": "expected a number like 0.2",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text; put it in quotes",
    "list_type": "expected a list ('- item' lines or [a, b])",
    "model_type": "expected a mapping of 'key: value' lines",
    "model_attributes_type": "expected a mapping of 'key: value' lines",
    "dict_type": "expected a mapping of 'key: value' lines",
}


def _message(error: Any) -> str:
    """A short English message, saying what to write instead, for one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind in _TYPE_MESSAGES:
        got = "nothing" if value is None else _short(value)
        return f"{_TYPE_MESSAGES[kind]}, got {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s)"
    if kind == "greater_than_equal":
        return "must not be negative" if ctx.get("ge") == 0 else f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}, got {_short(value)}"
    return str(error["msg"])


# --------------------------------------------------------------------------- analysis


@dataclass
class _Result:
    """Everything one file yields: the campaign (if clean), problems, positions, raw id."""

    campaign: Campaign | None
    problems: list[Problem]
    positions: _Positions
    raw_id: str | None = None
    anchored: bool = False


@dataclass
class _Issue:
    """A problem before it has a position."""

    loc: Loc
    message: str
    where: Where = "value"
    pos: Position | None = None


def _analyse(text: str, file: str, known_templates: set[str] | None, anchor: datetime) -> _Result:
    read = read_yaml(text)
    positions = read.positions
    document = read.data
    if document is None and read.problems:
        (line, col), loc, message = read.problems[0]
        return _Result(None, [Problem(file, line, col, _path(loc), message)], positions)
    if document is None:
        return _Result(
            None, [Problem(file, 1, 1, "", "file is empty; start from data/campaigns/sample.yaml")], positions
        )
    if not isinstance(document, dict):
        message = "expected a mapping of 'key: value' lines at the top (id:, title:, opens_at: ...)"
        return _Result(None, [Problem(file, 1, 1, "", message)], positions)

    issues: list[_Issue] = [_Issue(loc, message, pos=pos) for pos, loc, message in read.problems]
    for duplicate in read.duplicates:
        message = f"duplicate key '{duplicate.loc[-1]}' (first on line {duplicate.first_line}); keep one"
        issues.append(_Issue(duplicate.loc, message, pos=duplicate.position))

    data = document
    campaign: Campaign | None = None
    try:
        campaign = Campaign.model_validate(data, context={"anchor": anchor})
    except ValidationError as exc:
        issues.extend(_structural(exc))
    issues.extend(_semantic(data, known_templates, positions, anchor))

    problems: set[Problem] = set()
    for issue in issues:
        if issue.pos is not None:
            line, col = issue.pos
        elif issue.where == "key":
            line, col = positions.key(issue.loc)
        elif issue.where == "container":
            line, col = positions.container(issue.loc)
        else:
            line, col = positions.value(issue.loc)
        problems.add(Problem(file, line, col, _path(issue.loc), issue.message))
    raw_id = data.get("id") if isinstance(data.get("id"), str) else None
    ordered = sorted(problems, key=lambda p: (p.line, p.column, p.field, p.message))
    anchored = is_anchored(data.get("opens_at")) or is_anchored(data.get("closes_at"))
    return _Result(campaign if not ordered else None, ordered, positions, raw_id, anchored)


def _structural(exc: ValidationError) -> Iterator[_Issue]:
    """Map pydantic errors to issues at the right YAML position."""
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            key = loc[-1]
            model = _model_at(loc[:-1])
            allowed = sorted(model.model_fields) if model else []
            hint = _suggest(str(key), allowed)
            if hint:
                message = f"unknown key '{key}'; did you mean '{hint}'?"
            else:
                message = f"unknown key '{key}'; allowed keys: {', '.join(allowed)}"
            yield _Issue(loc, message, "key")
        elif error["type"] == "missing":
            yield _Issue(loc, f"missing required key '{loc[-1]}'; add it here", "container")
        else:
            yield _Issue(loc, _message(error))


# --------------------------------------------------------------------------- cross-field checks


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


def _semantic(
    data: dict[Any, Any], known_templates: set[str] | None, positions: _Positions, anchor: datetime
) -> list[_Issue]:
    """Checks that need several fields; each is skipped when its inputs did not validate."""
    parts = _sections(data, anchor)
    line = _LineOf(positions)
    issues: list[_Issue] = []

    def add(loc: Loc, message: str, where: Where = "value") -> None:
        issues.append(_Issue(loc, message, where))

    # Groups: a campaign that targets nobody is certainly a mistake.
    if not data.get("groups") and not data.get("group_tags"):
        add(("groups",), "set 'groups' (group ids) or 'group_tags'; the campaign targets no group", "key")
    _duplicates(issues, line, "groups", parts.get("groups", []), "group")

    tz: tzinfo = zoneinfo.ZoneInfo(parts.get("timezone", DEFAULT_TIMEZONE))
    opens = parts.get("opens_at")
    closes = parts.get("closes_at")
    for name, value in (("opens_at", opens), ("closes_at", closes)):
        if isinstance(value, datetime) and value.tzinfo is None and _nonexistent(value, tz):
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
            _same_time(issues, seen, to_utc(at), loc, label, line)

    # Products and the codes other sections may reference (raw codes, so one broken product
    # does not turn every reference to it into a second error).
    products = parts.get("products", [])
    _duplicates(issues, line, "products", products, "product code", attr="code")
    codes = _raw_texts(data, "products", "code")
    coupon_ids = _raw_texts(data, "coupons", "id")

    # Preheat
    preheat = parts.get("preheat", [])
    before_open("preheat", "preheat post", preheat, "at")
    for i, post in preheat:
        _content(issues, ("preheat", i), post, required=True)
        _references(issues, ("preheat", i, "products"), post.products, codes)
        if post.coupon is not None and post.coupon not in coupon_ids:
            hint = _hint(post.coupon, {c for c in coupon_ids if isinstance(c, str)}, "known coupons")
            add(("preheat", i, "coupon"), f"unknown coupon '{post.coupon}'{hint}")

    before_open("countdowns", "countdown", parts.get("countdowns", []), None)

    red_packets = parts.get("red_packets", [])
    before_open("red_packets", "red-packet burst", red_packets, "at")
    coupon_keywords = _raw_texts(data, "coupons", "keyword")
    for i, burst in red_packets:
        _content(issues, ("red_packets", i), burst, required=False)
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
        _content(issues, ("open",), parts["open"], required=False)
    if "close" in parts:
        _content(issues, ("close",), parts["close"], required=False)

    broadcasts = parts.get("broadcasts")
    if broadcasts is not None:
        _content(issues, ("broadcasts",), broadcasts, required=False)
        seen_broadcasts: dict[datetime, Loc] = {}
        for i, spec in enumerate(broadcasts.at):
            at = when(spec)
            if at is None or opens is None:
                continue
            loc: Loc = ("broadcasts", "at", i)
            if to_utc(at) < to_utc(opens) or (closes is not None and to_utc(at) > to_utc(closes)):
                end = _fmt(closes) if closes else "closes_at"
                add(loc, f"broadcast at {spec} ({_fmt(at)}) is outside the sale ({_fmt(opens)} .. {end})")
            _same_time(issues, seen_broadcasts, to_utc(at), loc, "broadcast", line)
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
        _content(issues, ("followups", i), post, required=True)
        at = when(post.at)
        if at is None or closes is None:
            continue
        if to_utc(at) < to_utc(closes):
            add(
                ("followups", i, "at"),
                f"follow-up at {post.at} ({_fmt(at)}) must be after closing; e.g. 'C+1d'",
            )
        _same_time(issues, seen_followups, to_utc(at), ("followups", i, "at"), "follow-up", line)

    coupons = parts.get("coupons", [])
    _duplicates(issues, line, "coupons", coupons, "coupon id", attr="id")
    keyworded = [(i, c) for i, c in coupons if c.keyword]
    _duplicates(issues, line, "coupons", keyworded, "coupon keyword", attr="keyword")
    for i, coupon in coupons:
        if coupon.keyword is None and not coupon.on_join:
            add(
                ("coupons", i),
                "set 'keyword' (issued when typed) or 'on_join: true' (newcomer gift)",
                "container",
            )
        _references(issues, ("coupons", i, "products"), coupon.products, codes)
        if coupon.min_spend and coupon.amount >= coupon.min_spend:
            add(("coupons", i, "amount"), f"must be less than min_spend ({coupon.min_spend})")
        if coupon.valid_for is not None and coupon.valid_until is not None:
            add(("coupons", i, "valid_for"), "use either 'valid_until' or 'valid_for', not both")
        valid_from = when(coupon.valid_from) if coupon.valid_from else None
        valid_until = when(coupon.valid_until) if coupon.valid_until else None
        if valid_from and valid_until and to_utc(valid_until) <= to_utc(valid_from):
            add(("coupons", i, "valid_until"), f"must be after valid_from ({_fmt(valid_from)})")

    tiers = parts.get("spend_tiers", [])
    _duplicates(issues, line, "spend_tiers", tiers, "spend tier", attr="min_spend")
    for i, tier in tiers:
        if tier.off >= tier.min_spend:
            add(("spend_tiers", i, "off"), f"must be less than min_spend ({tier.min_spend})")

    for i, entry in parts.get("faq", []):
        if not entry.keywords and not entry.examples:
            add(("faq", i), "add 'keywords' or 'examples' so members' questions can match", "container")

    _duplicates(issues, line, "pickup_points", parts.get("pickup_points", []), "pickup point", attr="name")

    if known_templates is not None:
        for loc, template in _templates(parts):
            if template not in known_templates:
                hint = _hint(template, known_templates, "known templates")
                add(loc, f"unknown template '{template}'{hint}")
    return issues


def _hint(word: str, choices: Iterable[str], label: str = "known") -> str:
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


def _nonexistent(naive: datetime, tz: tzinfo) -> bool:
    """True when a wall-clock time falls into a DST gap (it would silently shift an hour)."""
    aware = naive.replace(tzinfo=tz)
    return to_utc(aware).astimezone(tz).replace(tzinfo=None) != naive


@dataclass
class _LineOf:
    """Turns a path into "line N" for messages that refer to another place in the file."""

    positions: _Positions

    def __call__(self, loc: Loc) -> int:
        return self.positions.value(loc)[0]


def _same_time(
    issues: list[_Issue], seen: dict[datetime, Loc], at: datetime, loc: Loc, label: str, line: _LineOf
) -> None:
    """Two nodes of one kind at one instant would share a node id; ask for one of them to move."""
    if at in seen:
        message = f"another {label} is at the same time (line {line(seen[at])}); merge them or move one"
        issues.append(_Issue(loc, message))
    else:
        seen[at] = loc


def _duplicates(
    issues: list[_Issue],
    line: _LineOf,
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
            issues.append(_Issue(loc, message))
        else:
            first[value] = loc


def _content(issues: list[_Issue], loc: Loc, post: Any, *, required: bool) -> None:
    if post.text is not None and post.template is not None:
        issues.append(_Issue((*loc, "template"), "use either 'text' or 'template', not both", "key"))
    elif required and post.text is None and post.template is None:
        issues.append(_Issue(loc, "set 'text' or 'template' (what to post)", "container"))


def _references(issues: list[_Issue], loc: Loc, codes: list[str], known: set[Any]) -> None:
    for j, code in enumerate(codes):
        if code not in known:
            hint = _hint(code, {c for c in known if isinstance(c, str)}, "known codes")
            issues.append(_Issue((*loc, j), f"unknown product code '{code}'{hint}"))


def _templates(parts: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
    for name in ("preheat", "red_packets", "followups"):
        for i, post in parts.get(name, []):
            if post.template:
                yield (name, i, "template"), post.template
    for name in ("open", "broadcasts", "close"):
        post = parts.get(name)
        if post is not None and post.template:
            yield (name, "template"), post.template


# --------------------------------------------------------------------------- entry points

Anchor = datetime | Callable[[str], datetime] | None
"""What relative openings (``opens_at: +2h``) count from: a moment, a function of the campaign id
returning one (the running bot's persisted first-load time), or None for now."""


def _read(path: Path) -> tuple[str | None, list[Problem]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            message = f"file is {size // 1024} KB; a campaign file may be at most {MAX_FILE_BYTES // 1024} KB"
            return None, [Problem(str(path), 1, 1, "", message)]
        return path.read_text(encoding="utf-8"), []
    except UnicodeDecodeError:
        return None, [Problem(str(path), 1, 1, "", "not UTF-8 text; save the file as UTF-8")]
    except OSError as exc:
        return None, [Problem(str(path), 1, 1, "", f"cannot read file: {exc.strerror or exc}")]


def _checked(text: str, file: str, known_templates: set[str] | None, anchor: datetime) -> _Result:
    """:func:`_analyse`, but a bug in the checks becomes a problem naming the file, never a crash.

    The running bot reloads files on save; whatever an admin writes, the reload path must only
    ever see :class:`CampaignError`.
    """
    try:
        return _analyse(text, file, known_templates, anchor)
    except Exception as exc:
        logger.opt(exception=exc).error("campaign file {} could not be checked", file)
        message = f"could not be checked ({type(exc).__name__}); the file is refused, please report this"
        return _Result(None, [Problem(file, 1, 1, "", message)], _Positions())


def _anchored(text: str, file: str, known_templates: set[str] | None, anchor: Anchor) -> _Result:
    """Check the file; a relative opening counts from ``anchor`` (asked for only if the file is good)."""
    provisional = anchor if isinstance(anchor, datetime) else datetime.now(UTC)
    result = _checked(text, file, known_templates, provisional)
    if callable(anchor) and result.campaign is not None and result.anchored:
        try:
            fixed = anchor(result.campaign.id)
        except Exception as exc:
            logger.opt(exception=exc).error("no anchor time for campaign file {}", file)
            message = f"could not read when this campaign was first loaded ({type(exc).__name__}); try again"
            return _Result(None, [Problem(file, 1, 1, "opens_at", message)], result.positions)
        if fixed != provisional:
            result = _checked(text, file, known_templates, fixed)
    return result


def parse_campaign(
    text: str, file: str = "<string>", *, known_templates: set[str] | None = None, anchor: Anchor = None
) -> Campaign:
    """Validate campaign YAML text; ``file`` is only used in problem reports.

    Raises:
        CampaignError: with every problem found (and nothing else, whatever the text).
    """
    result = _anchored(text, file, known_templates, anchor)
    if result.campaign is None:
        raise CampaignError(result.problems)
    return result.campaign


def load_campaign(path: Path, *, known_templates: set[str] | None = None, anchor: Anchor = None) -> Campaign:
    """Load and validate one campaign file.

    Args:
        path: the YAML file.
        known_templates: template names that exist (e.g. files under ``templates/``); when
            given, a ``template:`` naming anything else is a problem.
        anchor: what ``opens_at: +2h`` counts from (see :data:`Anchor`); default now.

    Raises:
        CampaignError: with every problem found, each with file, line and column — and never any
            other exception, so a live reload cannot be knocked over by a file.
    """
    text, problems = _read(path)
    if text is None:
        raise CampaignError(problems)
    return parse_campaign(text, str(path), known_templates=known_templates, anchor=anchor)


def duplicate_id_problem(campaign_id: str, path: Path, other: Path) -> Problem:
    """The problem for a campaign id that ``other`` already uses, at the ``id:`` line of ``path``.

    Both files are named: the operator may have edited either one (often the copy of the sample).
    """
    line, column = 1, 1
    text, _ = _read(path)
    for number, row in enumerate((text or "").splitlines(), start=1):
        if row.startswith("id:"):
            line, column = number, min(len(row), len(row) - len(row[3:].lstrip()) + 1)
            break
    message = (
        f"campaign id '{campaign_id}' is already used by {other}; {path.name} and {other.name} "
        "need different ids (change it in the one you copied or added)"
    )
    return Problem(str(path), line, column, "id", message)


def _files(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml")))
        elif path.exists():
            files.append(path)
        else:
            problems.append(Problem(str(path), 1, 1, "", "no such file or directory"))
    return files, problems


@dataclass(frozen=True)
class FileReport:
    """What checking one file gave: its campaign (if clean) and its problems."""

    path: Path
    campaign: Campaign | None
    problems: list[Problem]


def check_paths(
    paths: list[Path], *, known_templates: set[str] | None = None, anchor: Anchor = None
) -> tuple[list[FileReport], list[Problem]]:
    """Check files and directories (their ``*.yaml``/``*.yml``, not recursive), one report per file.

    A campaign id used by more than one file is a problem in each of them, naming both; only the
    first file's campaign is kept. The second list holds paths that do not exist.
    """
    files, missing = _files(paths)
    reports: list[FileReport] = []
    owners: dict[str, Path] = {}
    for path in files:
        text, read_problems = _read(path)
        if text is None:
            reports.append(FileReport(path, None, read_problems))
            continue
        result = _anchored(text, str(path), known_templates, anchor)
        problems = list(result.problems)
        campaign = result.campaign
        if result.raw_id is not None and result.raw_id in owners:
            other = owners[result.raw_id]
            problems.append(duplicate_id_problem(result.raw_id, path, other))
            campaign = None
        elif result.raw_id is not None:
            owners[result.raw_id] = path
        reports.append(FileReport(path, campaign, problems))
    return reports, missing


def validate_paths(
    paths: list[Path], *, known_templates: set[str] | None = None, anchor: Anchor = None
) -> tuple[list[Campaign], list[Problem]]:
    """Validate files and directories (their ``*.yaml``/``*.yml``, not recursive).

    Returns the campaigns that loaded cleanly and every problem, including campaign ids used by
    more than one file (the later file is reported, naming both, and its campaign left out).
    """
    reports, problems = check_paths(paths, known_templates=known_templates, anchor=anchor)
    campaigns = [r.campaign for r in reports if r.campaign is not None]
    return campaigns, [*problems, *(p for r in reports for p in r.problems)]
