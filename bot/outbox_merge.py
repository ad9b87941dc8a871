"""Merging private alerts to one person into the message still queued for them.

A stock alert goes to every leader of every group for each product: hundreds of
private messages in a large sale, each taking a send slot from the group posts.
Alerts to one person that pile up while an earlier one still waits are more
useful as one message listing them, each line once, and cost one slot.

A picture's row carries the path of its file, not words: it is never merged into
text or replaced by it, nor the other way round (`foldable`).
"""

from __future__ import annotations

from bot.events import IMAGE_KIND

COALESCE_KINDS = frozenset({"alert", "admin"})
COALESCE_MAX_CHARS = 1500


def merge_lines(queued: str, new: str, max_chars: int = COALESCE_MAX_CHARS) -> str | None:
    """`queued` followed by the lines of `new` it does not already contain.

    Blank lines of `new` are dropped (the merged message is a list). Returns
    `queued` unchanged when `new` adds nothing, and None when the merged text
    would be longer than `max_chars`: then `new` starts a message of its own.
    """
    seen = {line for line in queued.split("\n") if line.strip()}
    added: list[str] = []
    for line in new.split("\n"):
        if line.strip() and line not in seen:
            seen.add(line)
            added.append(line)
    if not added:
        return queued
    merged = "\n".join([queued, *added])
    return merged if len(merged) <= max_chars else None


def foldable(queued_kind: str, kind: str) -> bool:
    """Whether a message of `kind` may replace or merge into a queued one of `queued_kind`: not a
    picture into text nor text into a picture (the path would be said, or the words lost)."""
    return (queued_kind == IMAGE_KIND) == (kind == IMAGE_KIND)
