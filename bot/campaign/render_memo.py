"""Rendering a node's text once per node, not once per group, when the text cannot differ by group.

A timeline node fans out to thousands of groups with the same text; only `group_name`
(and, through the runner's own variables, nothing else of the group) can make one group's
text differ from another's. A template is group-independent when neither it nor any template
it includes, extends or imports names `group_name`; that is found once per template from its
parsed source (`jinja2.meta`), and a template whose references cannot be followed is treated
as group-dependent.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from jinja2 import meta

from bot.templates import Renderer

GROUP_VARIABLE = "group_name"
MEMO_BOUND = 512
"""Entries of the per-renderer analysis memo (templates and campaign texts); cleared when full."""

_uses_group: dict[tuple[int, str, str], bool] = {}


def uses_group(renderer: Renderer, *, name: str = "", source: str = "") -> bool:
    """Whether the named template (or the template `source`) may render differently per group."""
    key = (id(renderer), name, source)
    known = _uses_group.get(key)
    if known is None:
        if len(_uses_group) >= MEMO_BOUND:
            _uses_group.clear()
        known = _uses_group[key] = _analyse(renderer, name, source, seen=set())
    return known


def _analyse(renderer: Renderer, name: str, source: str, seen: set[str]) -> bool:
    env = renderer.env
    try:
        if name:
            if name in seen:
                return False
            seen.add(name)
            loader = env.loader
            if loader is None:
                return True
            source = loader.get_source(env, name)[0]
        tree = env.parse(source)
    except Exception:
        return True  # cannot tell: render it per group, as before
    if GROUP_VARIABLE in meta.find_undeclared_variables(tree):
        return True
    for referenced in meta.find_referenced_templates(tree):
        if referenced is None or _analyse(renderer, referenced, "", seen):
            return True
    return False


def cached(memo: dict[Hashable, Any], key: Hashable, make: Any) -> Any:
    """`memo[key]`, made by `make()` on first use."""
    if key in memo:
        return memo[key]
    value = memo[key] = make()
    return value
