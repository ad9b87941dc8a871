"""What the FAQ matcher hands the question handler: the one thing its body will do.

`match_question` (`handlers.faq.intent`) returns one of these, or None for chatter the
body would ignore, in which case the body does not run at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.faq.matching import FaqItem


@dataclass(frozen=True, slots=True)
class Answer:
    """Give `item`'s answer (unless a cooldown holds it back); `text` is the question without the @bot."""

    item: FaqItem
    text: str


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A question put to the bot (an @, or ending in ？/?) that matched nothing: log it for the leaders."""

    text: str


@dataclass(frozen=True, slots=True)
class Undecided:
    """The matcher could not decide on the loop (jieba's dictionary not loaded yet, or no app view):
    the body decides as it always did, loading the dictionary in a worker thread first."""


Intent = Answer | Unanswered | Undecided
UNDECIDED = Undecided()
