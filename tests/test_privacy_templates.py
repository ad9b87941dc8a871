"""Acceptance 2 of issue 16: every template, rendered with hostile member data, reaches a group masked.

The list of templates is `templates/` itself (every chat template, private ones too: a
template sent privately today may be sent to a group tomorrow), so it cannot rot. Each one
is rendered with every variable it reads bound to a `Hostile` value: it prints as a name
or text carrying phones, ID and bank-card numbers, rooms and codes, and it behaves as a
number, a list, a record or a date as the template needs. Each rendering goes through the
real group-bound path, a real app's outbox (plain, rolling replace and timeline drafts), to
the fake transport, which must not receive any of the values unmasked.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from itertools import product
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import meta

from bot.app import App
from bot.outbox import Draft
from bot.templates import DEFAULT_TEMPLATE_DIR, Renderer
from tests.conftest import make_config
from tests.fakes import FakeClock, FakeTransport
from tests.privacy_hostile import Secret, hostile_texts

GROUP = "团购一群"
FAST = {
    "group_interval_seconds": 0,
    "account_per_minute": 100_000,
    "switch_pause_seconds": [0, 0],
    "daily_budget": 1_000_000,
}


class Hostile:
    """A template variable that is whatever the template needs, and prints as hostile text."""

    def __init__(self, texts: list[str], index: int = 0, arity: int = 2, **fixed: object) -> None:
        self._texts = texts
        self._index = index
        self._arity = arity  # how many items iterating yields (`for a, b, c, d in rows` needs 4)
        self._fixed = fixed  # attributes a template looks up in a literal dict (`labels[alert.rule]`)

    def _child(self, step: int) -> Hostile:
        return Hostile(self._texts, self._index + step, self._arity)

    def __str__(self) -> str:
        return self._texts[self._index % len(self._texts)]

    __html__ = __str__

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("_", "jinja_")) or name in ("unsafe_callable", "alters_data"):
            raise AttributeError(name)
        if name in self._fixed:
            return self._fixed[name]
        return self._child(len(name))

    def __getitem__(self, key: object) -> Hostile:
        return self._child(3)

    def __call__(self, *args: object, **kwargs: object) -> Hostile:
        return self._child(5)

    def __iter__(self) -> Any:
        return iter([self._child(i + 1) for i in range(self._arity)])

    def __len__(self) -> int:
        return self._arity

    def __bool__(self) -> bool:
        return True

    def __int__(self) -> int:
        return 2

    def __float__(self) -> float:
        return 2.0

    def __index__(self) -> int:
        return 2

    def __round__(self, ndigits: int | None = None) -> int:
        return 2

    def __format__(self, spec: str) -> str:
        return str(self)

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return id(self)

    def __lt__(self, other: object) -> bool:
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def _arith(self, *other: object) -> Hostile:
        return self._child(7)

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _arith
    __truediv__ = __rtruediv__ = __floordiv__ = __mod__ = __neg__ = _arith


def hostile_renderer() -> Renderer:
    """The shipped templates and filters; a filter given a `Hostile` answers like real data would."""
    renderer = Renderer(DEFAULT_TEMPLATE_DIR)
    samples = {"money": "¥9.90", "yuan": "¥9.90", "hm": "10:00", "mdhm": "12月3日 10:00"}
    for name, sample in samples.items():
        real = renderer.env.filters[name]
        renderer.env.filters[name] = lambda value, _r=real, _s=sample: (
            _s if isinstance(value, Hostile) else _r(value)
        )
    mask = renderer.env.filters["mask"]
    renderer.env.filters["mask"] = lambda value: mask(str(value))
    return renderer


def chat_templates() -> list[str]:
    """Every template that can be a chat message (the printable `*.html.j2` pages are files)."""
    names = sorted(Renderer(DEFAULT_TEMPLATE_DIR).names())
    return [n for n in names if not n.endswith(".html.j2")]


def test_the_sweep_covers_every_chat_template() -> None:
    names = chat_templates()
    assert len(names) > 100 and "orders/chain_list.j2" in names and "welcome/default.j2" in names
    renderer = hostile_renderer()
    texts = ["王姐13812345678", "住3栋502"]
    for name in names:
        assert isinstance(render(renderer, name, texts), str), name  # every one renders with hostile data


def variables_of(renderer: Renderer, name: str) -> set[str]:
    """The variables `name` reads, with those of the templates it includes or imports."""
    source = renderer.env.loader.get_source(renderer.env, name)[0]  # type: ignore[union-attr]
    parsed = renderer.env.parse(source)
    found = set(meta.find_undeclared_variables(parsed))
    for other in meta.find_referenced_templates(parsed):
        if other is not None and other != name:
            found |= variables_of(renderer, other)
    return found


# Values a template looks up in a literal dict of its own: one of the keys it knows.
FIXED: dict[str, dict[str, object]] = {
    "needed": {"value": "leader"},
    "alert": {"rule": "conversion", "transition": "fire"},
}


def _value(texts: list[str], index: int, arity: int, variable: str) -> object:
    fixed = FIXED.get(variable)
    if fixed is not None and "value" in fixed:
        return fixed["value"]
    return Hostile(texts, index, arity, **(fixed or {}))


def render(renderer: Renderer, name: str, texts: list[str]) -> str:
    """`name` rendered with hostile values; the width of the rows it unpacks is found by trying."""
    variables = sorted(variables_of(renderer, name))
    uniform = [dict.fromkeys(variables, arity) for arity in (2, 3, 4, 5, 6)]
    mixed = (dict(zip(variables, combo, strict=True)) for combo in product((2, 3, 4), repeat=len(variables)))
    for arities in itertools.chain(uniform, mixed if len(variables) <= 6 else ()):
        values = {v: _value(texts, i, arities[v], v) for i, v in enumerate(variables)}
        try:
            return renderer.render(name, **values)
        except ValueError as exc:
            if "unpack" not in str(exc):
                raise
    raise AssertionError(f"{name}: no row width renders it")


def test_hostile_member_data_never_reaches_a_group_unmasked(tmp_path) -> None:
    clock = FakeClock()
    app = App.build(make_config(tmp_path, outbox=FAST), clock=clock, rng=random.Random(0))
    transport = FakeTransport(app, clock)
    outbox = app.services.outbox
    renderer = hostile_renderer()
    names = chat_templates()
    loop = asyncio.new_event_loop()
    rounds = itertools.count()

    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(hostile_texts(), min_size=3, max_size=6))
    def sweep(cases: list[tuple[str, list[Secret]]]) -> None:
        texts = [text for text, _ in cases]
        secrets = [s for _, found in cases for s in found]
        transport.sent.clear()
        rendered = [(name, render(renderer, name, texts)) for name in names]
        n = next(rounds)
        previous: int | None = None
        for i, (name, text) in enumerate(rendered):
            if i % 3 == 0:
                outbox.enqueue(text, group_id=GROUP)
            elif i % 3 == 1:  # a rolling post: replaced while queued, as the 接龙 list is
                previous = outbox.roll(
                    previous, lambda full, t=text: (t, ()), group_id="团购二群", replace_key=f"r{n}"
                )
            else:
                outbox.enqueue_atomic([Draft(text=text, group_id=GROUP, kind=name)], lambda conn: True)
        loop.run_until_complete(outbox.drain())
        sent = [m.text for m in transport.sent if m.group_id]
        assert sent, "nothing reached the groups"
        for text in sent:
            for secret in secrets:
                assert not secret.leaked(text), (secret, text)

    try:
        sweep()
    finally:
        loop.close()
