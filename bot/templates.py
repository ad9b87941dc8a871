"""All user-facing wording, rendered from Jinja2 templates under `templates/`.

One sandboxed environment renders both the shipped templates and the ones
admins edit at run time, so an admin's typo or a hostile template cannot reach
Python objects. Member text only ever enters as a variable's value, never as
template source, so `{{ 7*7 }}` typed in a group stays literal.

Templates are compiled once per process: outside development Jinja's `auto_reload` is
off (it cost an `os.stat` per render, about a fifth of a reply's dispatch) and each
named template is kept in a dict after its first load. Set `TUANBOT_TEMPLATES_RELOAD=1`
while editing the shipped templates to see changes without a restart.
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cachetools import LRUCache
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment

from bot.privacy import mask_contacts

COMPILED_CACHE = 512  # admin-edited template strings, compiled, by source
TEMPLATE_CACHE = 1_000  # Jinja's own cache of loaded templates: all shipped ones (~80) and room to spare
RELOAD_ENV = "TUANBOT_TEMPLATES_RELOAD"
HTML_EXTENSIONS = ("html.j2",)  # templates rendered with autoescaping (printable pages)
DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


def money(cents: int | Decimal | float) -> str:
    """Format an amount in fen as ¥2675.00: always two decimals, no thousands separator.

    The one money format of every template (and `tuanbot report`), so a results post
    never shows "¥2675" beside "¥772.60". Amounts are stored in fen as ints; a float
    (a template's `yuan * 100`) is rounded to the nearest fen first.
    """
    value = Decimal(round(cents)) / 100
    return f"¥{value:.2f}"


yuan = money  # the filter's former name, kept for leaders' custom welcome templates


def _flattened(template: Template) -> Template:
    """The template with its globals in one plain dict instead of Jinja's ChainMap over the
    environment's: each render copies them into its context, and reading a ChainMap key by key
    was about a tenth of a short reply's render. The environment's globals are set once, in
    `Renderer.__init__`, and never change after, so the copy cannot go stale."""
    template.globals = dict(template.globals)
    return template


class TemplateRenderError(Exception):
    """A template is missing or broken; the message names it."""


class Renderer:
    """Renders named templates (`help.j2`) and admin-supplied template strings."""

    def __init__(
        self,
        template_dir: Path = DEFAULT_TEMPLATE_DIR,
        timezone: str = "Asia/Shanghai",
        *,
        auto_reload: bool | None = None,
    ) -> None:
        """`auto_reload` (default: the `TUANBOT_TEMPLATES_RELOAD` environment switch) re-reads
        a template file when it changed on disk: for development only."""
        self.template_dir = template_dir
        self.tz = ZoneInfo(timezone)
        if auto_reload is None:
            auto_reload = os.environ.get(RELOAD_ENV, "") not in ("", "0")
        self.auto_reload = auto_reload
        self._named: LRUCache[str, Template] = LRUCache(maxsize=TEMPLATE_CACHE)
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(template_dir)),
            # Chat text is plain; printable pages (`*.html.j2`, e.g. the pickup lists) escape member
            # text, so a name like `<script>` prints as text.
            autoescape=select_autoescape(
                enabled_extensions=HTML_EXTENSIONS, default_for_string=False, default=False
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=auto_reload,
            cache_size=TEMPLATE_CACHE,
        )
        self._compiled: LRUCache[str, Template] = LRUCache(maxsize=COMPILED_CACHE)
        self.env.filters["money"] = money
        self.env.filters["yuan"] = money
        self.env.filters["hm"] = self._hm
        self.env.filters["mdhm"] = self._mdhm
        self.env.filters["mask"] = mask_contacts  # phone numbers, cards, rooms in member text (bot.privacy)

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)

    def _hm(self, value: datetime) -> str:
        return self._local(value).strftime("%H:%M")

    def _mdhm(self, value: datetime) -> str:
        local = self._local(value)
        return f"{local.month}月{local.day}日 {local:%H:%M}"

    def names(self) -> set[str]:
        """Names of every shipped template, for validating references in campaign files."""
        return {str(p.relative_to(self.template_dir)) for p in self.template_dir.rglob("*.j2")}

    def render(self, name: str, /, **variables: Any) -> str:
        try:
            template = self._named.get(name)
            if template is None:
                template = self.env.get_template(name)
                if not self.auto_reload:
                    self._named[name] = _flattened(template)
            return template.render(**variables).strip()
        except TemplateNotFound:
            raise TemplateRenderError(f"template {name!r} not found under {self.template_dir}") from None
        except TemplateError as exc:
            raise TemplateRenderError(f"template {name!r} failed: {exc}") from exc

    def render_string(self, source: str, /, **variables: Any) -> str:
        """Render an admin-edited template (e.g. a custom welcome) in the same sandbox.

        Compiled templates are cached by their source: a timeline node renders the same campaign
        text once per group, and compiling it each time was a large share of the fan-out.
        """
        try:
            template = self._compiled.get(source)
            if template is None:
                template = self._compiled[source] = _flattened(self.env.from_string(source))
            return template.render(**variables).strip()
        except TemplateError as exc:
            raise TemplateRenderError(f"custom template failed: {exc}") from exc

    def check_string(self, source: str) -> str | None:
        """Return an error message if `source` is not a valid template, else None."""
        try:
            self.env.parse(source)
        except TemplateError as exc:
            return str(exc)
        return None
