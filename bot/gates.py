"""Which handlers a message could reach, decided once per message by two cheap checks.

Why: most group messages are chatter, and the router used to walk every handler for each
of them, each pattern searched and each keyword matcher called, about a microsecond or two
apiece, only to find nothing. The handlers' declarations say more than that: a `pattern` is a
condition the text must meet, and `words` (with `longest`) says the matcher can only act on a
short message whose normalised core is one of those words. So per message the router asks two
questions, once for all handlers of the event type:

* could any declared pattern match? One search of all of them combined (an alternation finds
  a match wherever any alternative would);
* is the message a short one whose core is one of the declared words? One length check and one
  set lookup.

and walks only the handlers that could still act, in their usual priority order. Each handler
still checks its own pattern and matcher, so the gates only skip handlers that would have
skipped themselves: behaviour is unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.handler import HandlerSpec

NOT_BUILT: Any = object()
"""The view not built yet: it is built at most once per message, when first needed."""
# A pattern joins the combined search only if it means the same inside an alternation: default
# flags, no references to its own numbered or named groups, and no named group (two handlers'
# patterns may name a group alike, which one alternation cannot hold).
_SELF_REFERENCE = re.compile(r"\\[1-9]|\(\?P[=<]|\(\?\(")


def _combinable(pattern: re.Pattern[str]) -> bool:
    return pattern.flags == re.UNICODE and _SELF_REFERENCE.search(pattern.pattern) is None


class Gates:
    """The handlers of one event type, and which of them a message could reach."""

    __slots__ = ("_walks", "longest", "patterns", "words")

    def __init__(self, specs: Sequence[HandlerSpec]) -> None:
        gated_by_pattern = [s for s in specs if s.pattern is not None and _combinable(s.pattern)]
        gated_by_words = [s for s in specs if s.words and s.pattern is None]
        self.patterns: re.Pattern[str] | None = (
            re.compile("|".join(f"(?:{s.pattern.pattern})" for s in gated_by_pattern if s.pattern))
            if gated_by_pattern
            else None
        )
        self.words: frozenset[str] = frozenset().union(*(s.words for s in gated_by_words))
        self.longest = max((s.longest for s in gated_by_words), default=0)
        by_pattern = {id(s) for s in gated_by_pattern}
        by_words = {id(s) for s in gated_by_words}
        # Four walks, one for each answer to the two questions, each in priority order.
        self._walks: dict[tuple[bool, bool], tuple[HandlerSpec, ...]] = {
            (pattern_possible, word_possible): tuple(
                s
                for s in specs
                if (pattern_possible or id(s) not in by_pattern) and (word_possible or id(s) not in by_words)
            )
            for pattern_possible in (False, True)
            for word_possible in (False, True)
        }

    def walk(self, text: str, event: Any, services: Any) -> tuple[tuple[HandlerSpec, ...], Any]:
        """The handlers `text` could reach, in priority order, and the message's view if the
        word check built it (`services.view_of`; else `NOT_BUILT`). Without a view (a bare test
        app's `view_of` gives None) every word-gated handler is kept."""
        patterns = self.patterns
        pattern_possible = patterns is None or patterns.search(text) is not None
        word_possible = bool(self.words)
        view: Any = NOT_BUILT
        if word_possible:
            if len(text) > self.longest:
                word_possible = False
            else:
                view = services.view_of(event)
                word_possible = view is None or view.core in self.words
        return self._walks[pattern_possible, word_possible], view
