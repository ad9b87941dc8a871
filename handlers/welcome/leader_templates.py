"""Leaders' welcome templates (`/welcome set`): checked when set, rendered in a sandbox without files.

A leader types a template into a group chat, so it is untrusted text that is
stored and rendered for every welcome. It gets its own Jinja2 sandbox with no
loader: `{% include %}`, `{% extends %}` and `{% import %}` are refused when
the template is set and cannot load anything if one was stored earlier. A
refusal is a short reason code (worded in `templates/welcome/invalid.j2`) plus
at most a variable name or a syntax message from a loader-less environment,
so it can never show a server path (issue 12.8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from bot.context import Services
from bot.templates import Renderer

MAX_TEMPLATE_CHARS = 1000
MAX_OUTPUT_CHARS = 2000
"""A welcome longer than this is a template bug (a big loop), not a greeting."""
FILE_NODES = (nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)


@dataclass(frozen=True)
class Problem:
    """Why a leader's template is refused: `reason` picks the wording, `detail` is safe to show."""

    reason: str  # too_long | files | syntax | undefined | unsafe | too_long_output | broken
    detail: str = ""
    line: int = 0  # the template line a syntax error is on


class LeaderTemplateError(Exception):
    """A stored leader template failed to render; the welcome falls back to the default."""


class LeaderTemplates:
    """Checks and renders leader-written templates in a sandbox that cannot load files."""

    def __init__(self, renderer: Renderer) -> None:
        self.env = SandboxedEnvironment(
            loader=None,
            autoescape=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters.update(renderer.env.filters)
        self._compiled: LRUCache[str, Template] = LRUCache(maxsize=64)

    def problem(self, source: str, sample: dict[str, Any]) -> Problem | None:
        """Why `source` cannot be a welcome (checked at `/welcome set`), or None if it can."""
        if len(source) > MAX_TEMPLATE_CHARS:
            return Problem("too_long", f"{len(source)} > {MAX_TEMPLATE_CHARS}")
        try:
            tree = self.env.parse(source)
        except TemplateSyntaxError as exc:
            return Problem("syntax", exc.message or "", line=exc.lineno or 0)
        if any(True for _ in tree.find_all(FILE_NODES)):
            return Problem("files")
        try:
            self.render(source, sample)
        except LeaderTemplateError as exc:
            cause = exc.__cause__
            if isinstance(cause, UndefinedError):
                return Problem("undefined", cause.message or "")
            if isinstance(cause, SecurityError):
                return Problem("unsafe")
            if str(exc) == "too_long_output":
                return Problem("too_long_output", str(MAX_OUTPUT_CHARS))
            return Problem("broken")
        return None

    def render(self, source: str, variables: dict[str, Any]) -> str:
        """Render a stored template; any failure (never its message) becomes LeaderTemplateError."""
        try:
            template = self._compiled.get(source)
            if template is None:
                template = self._compiled[source] = self.env.from_string(source)
            text = template.render(**variables).strip()
        except Exception as exc:  # a leader's text must never break a welcome, whatever it does
            raise LeaderTemplateError(type(exc).__name__) from exc
        if len(text) > MAX_OUTPUT_CHARS:
            raise LeaderTemplateError("too_long_output")
        return text


def leader_templates(services: Services) -> LeaderTemplates:
    """The app's leader-template sandbox (made on first use)."""
    return services.get_or_make(LeaderTemplates, lambda: LeaderTemplates(services.renderer))
