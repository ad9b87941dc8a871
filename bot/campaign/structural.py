"""Turn pydantic's validation errors into issues that say, in plain words, what to write instead.

Pydantic reports ``extra_forbidden`` or ``int_parsing`` with a path; an admin editing YAML by hand
needs "unknown key 'prise'; did you mean 'price'?" at the right line. This module owns that
translation (messages, "did you mean" suggestions, the model at a path); the loader only collects.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.campaign.models import Campaign
from bot.campaign.problems import Issue, Loc

__all__ = ["structural_issues"]

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


def structural_issues(exc: ValidationError) -> Iterator[Issue]:
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
            yield Issue(loc, message, "key")
        elif error["type"] == "missing":
            yield Issue(loc, f"missing required key '{loc[-1]}'; add it here", "container")
        else:
            yield Issue(loc, _message(error))
