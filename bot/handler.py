"""Declaring handlers: decorators that only attach metadata.

Nothing is registered as a side effect of import; the app collects handlers
from an explicit list of feature modules (`handlers.features.FEATURES`). Predicates are
pure functions of the event and combine with `&`, `|` and `~`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bot.events import GroupMessage, PrivateMessage
from bot.vocab import Priority, Role

if TYPE_CHECKING:
    from bot.context import Context

HandlerFunc = Callable[[Any, "Context"], Awaitable[bool | None]]
Matcher = Callable[[Any, Any], Any]  # (event, view) -> intent, or None when the handler has nothing to do
SPEC_ATTR = "__tuanbot_handlers__"


class Filter:
    """A composable predicate over events."""

    __slots__ = ("check", "name")

    def __init__(self, check: Callable[[Any], bool], name: str = "filter") -> None:
        self.check = check
        self.name = name

    def __call__(self, event: Any) -> bool:
        return self.check(event)

    def __and__(self, other: Filter) -> Filter:
        first, second = self.check, other.check
        return Filter(lambda e: first(e) and second(e), f"({self.name} & {other.name})")

    def __or__(self, other: Filter) -> Filter:
        first, second = self.check, other.check
        return Filter(lambda e: first(e) or second(e), f"({self.name} | {other.name})")

    def __invert__(self) -> Filter:
        check = self.check
        return Filter(lambda e: not check(e), f"~{self.name}")

    def __repr__(self) -> str:
        return f"Filter({self.name})"


def text_contains(*needles: str) -> Filter:
    return Filter(lambda e: any(n in getattr(e, "text", "") for n in needles), f"contains{needles}")


@dataclass(frozen=True)
class HandlerSpec:
    """Everything the router needs to know about one handler."""

    func: HandlerFunc
    event_type: type
    priority: int = Priority.DEFAULT
    pattern: re.Pattern[str] | None = None
    when: Filter | None = None
    match: Matcher | None = None
    role: Role = Role.MEMBER
    command: str = ""
    aliases: tuple[str, ...] = ()
    private: bool = False
    group: bool = True
    name: str = field(default="")
    kinds: tuple[str, ...] = ("text",)  # GroupMessage kinds it sees; "*": links, cards, pictures too
    # A promise about `match` the router uses to skip it for most messages (`bot.gates`): it acts
    # only on a text of at most `longest` characters whose normalised core is one of `words`.
    words: frozenset[str] = frozenset()
    longest: int = 0
    # Whom /help lists a member-level command for, when not every member may use it (a clerk's
    # /pickup): (services, member_id) -> bool. Leaders and admins see every command.
    listed_for: Callable[[Any, str], bool] | None = None

    def __post_init__(self) -> None:
        if self.words and (self.match is None or self.longest <= 0):
            raise ValueError(f"{self.name}: `words` needs a matcher and the longest text it acts on")

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "")

    @property
    def usage(self) -> str:
        """First docstring line: the /help text."""
        return self.doc.splitlines()[0] if self.doc else f"/{self.command}"


def _declare(event_type: type, **fields: Any) -> Callable[[HandlerFunc], HandlerFunc]:
    """A decorator that attaches one `HandlerSpec` to the function and returns it unchanged."""

    def decorate(func: HandlerFunc) -> HandlerFunc:
        spec = HandlerSpec(
            func=func, event_type=event_type, name=f"{func.__module__}.{func.__name__}", **fields
        )
        setattr(func, SPEC_ATTR, [*getattr(func, SPEC_ATTR, []), spec])
        return func

    return decorate


def _compile(pattern: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    if pattern is None or isinstance(pattern, re.Pattern):
        return pattern
    return re.compile(pattern)


def command(
    name: str,
    *aliases: str,
    role: Role = Role.MEMBER,
    private: bool = False,
    group: bool = True,
    listed_for: Callable[[Any, str], bool] | None = None,
) -> Callable[[HandlerFunc], HandlerFunc]:
    """A slash command (`/name args`; full-width `／` works too).

    The handler's first docstring line is its /help entry; `private=True` also
    accepts it in a private chat with the bot. `listed_for(services, member_id)` narrows
    whom /help lists it for among members (the command itself decides who may run it).
    """
    return _declare(
        GroupMessage,
        priority=Priority.COMMAND,
        role=role,
        command=name.lower(),
        aliases=tuple(a.lower() for a in aliases),
        private=private,
        group=group,
        listed_for=listed_for,
    )


def on_message(
    pattern: str | re.Pattern[str] | None = None,
    *,
    when: Filter | None = None,
    match: Matcher | None = None,
    priority: int = Priority.DEFAULT,
    role: Role = Role.MEMBER,
    kinds: tuple[str, ...] = ("text",),
    words: frozenset[str] = frozenset(),
    longest: int = 0,
) -> Callable[[HandlerFunc], HandlerFunc]:
    """A handler for group messages whose text matches `pattern` (searched), `when` and `match`.

    Only typed text by default; `kinds=("*",)` also gets links, cards and pictures (moderation).
    `words` and `longest`: `match` returns something only for a text of at most `longest`
    characters whose core (`bot.text.core`) is one of `words`; the router then skips the handler
    for every other message without calling it (`bot.gates`).
    """
    return _declare(
        GroupMessage,
        priority=priority,
        pattern=_compile(pattern),
        when=when,
        match=match,
        role=role,
        kinds=kinds,
        words=words,
        longest=longest,
    )


def on_private(
    pattern: str | re.Pattern[str] | None = None,
    *,
    when: Filter | None = None,
    match: Matcher | None = None,
    priority: int = Priority.DEFAULT,
) -> Callable[[HandlerFunc], HandlerFunc]:
    """A handler for private messages to the bot."""
    return _declare(PrivateMessage, priority=priority, pattern=_compile(pattern), when=when, match=match)


def on_event(
    event_type: type, *, priority: int = Priority.DEFAULT, match: Matcher | None = None
) -> Callable[[HandlerFunc], HandlerFunc]:
    """A handler for a non-message event such as `MemberJoined`."""
    return _declare(event_type, priority=priority, match=match)


def collect(modules: list[ModuleType]) -> list[HandlerSpec]:
    """Every handler spec declared in `modules`, in declaration order."""
    specs: list[HandlerSpec] = []
    for module in modules:
        for _, obj in inspect.getmembers(module, inspect.iscoroutinefunction):
            # getattr: on Python 3.12 a module that imports `inspect` has it counted as a
            # coroutine function (its `_is_coroutine_marker` global), and a module has no __module__.
            if getattr(obj, "__module__", None) == module.__name__:
                specs.extend(getattr(obj, SPEC_ATTR, []))
    return specs
