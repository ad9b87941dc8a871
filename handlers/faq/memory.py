"""What the FAQ feature keeps in memory, so a member's question costs no database statement on the loop.

* The group-wide file's items, re-read when the file changes; the file is looked at
  (`os.stat`) at most once per `FILE_CHECK_SECONDS`, not three times a message.
* Leaders' own entries (`/faq add`), per group: read once per group in a worker thread,
  dropped on `/faq add` and `/faq del` (a read under way when an entry changes is not kept).
* Matchers, keyed by what they are built from (the file, the group's campaigns, the
  group's own entries), so groups running the same campaigns without entries of their
  own share one matcher.
* "Answered recently" (the group and member cooldowns): memory only, as before.

Bounds: `GROUPS_REMEMBERED` groups' own entries (an evicted group is read again),
`MATCHERS_REMEMBERED` matchers (an evicted one is rebuilt), `ANSWERS_REMEMBERED` cooldown
entries each. A cooldown entry lasts at most a minute, so eviction can only let an
answer repeat if more than that many answers were given within the minute; the outbox
could not send them anyway. A restart clears it all, as before.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cachetools import LRUCache

from bot.context import Services
from handlers.faq.matching import FaqItem, FaqMatcher, load_faq_file
from handlers.faq.store import FaqStore

FILE_CHECK_SECONDS = 1.0
"""How often `data/faq.yaml` is looked at for changes (an edit is seen within this time)."""

GROUPS_REMEMBERED = 20_000
MATCHERS_REMEMBERED = 500
ANSWERS_REMEMBERED = 100_000

DEFAULT_FAQ_FILE = Path(__file__).resolve().parents[2] / "data" / "faq.yaml"
FAQ_FILE = "data/faq.yaml"

Custom = tuple[tuple[int, str, str], ...]  # (id, question, answer) of a group's own entries
Signature = tuple[object, ...]


@dataclass
class FaqState:
    """Per-app FAQ state (see the module docstring for what each part is and its bound)."""

    file_items: list[FaqItem] = field(default_factory=list)
    file_stamp: tuple[str, float] | None = None
    file_checked: float = float("-inf")  # time.monotonic() of the last look at the file
    custom: LRUCache[str, Custom] = field(default_factory=lambda: LRUCache(GROUPS_REMEMBERED))
    custom_generation: int = 0  # bumped on every /faq add or del: a read started before is dropped
    matchers: LRUCache[Signature, tuple[tuple[object, ...], FaqMatcher]] = field(
        default_factory=lambda: LRUCache(MATCHERS_REMEMBERED)
    )
    answered_in_group: LRUCache[tuple[str, str], datetime] = field(
        default_factory=lambda: LRUCache(ANSWERS_REMEMBERED)
    )
    answered_member: LRUCache[tuple[str, str], datetime] = field(
        default_factory=lambda: LRUCache(ANSWERS_REMEMBERED)
    )


def state_of(services: Services) -> FaqState:
    return services.get_or_make(FaqState, FaqState)


def faq_file(services: Services) -> Path:
    """`data/faq.yaml` beside the config, else the one shipped with the bot."""
    configured = services.config.path(FAQ_FILE)
    return configured if configured.exists() else DEFAULT_FAQ_FILE


def file_items(services: Services, state: FaqState) -> list[FaqItem]:
    """The group-wide file's items, re-read when the file changed (looked at once a second at most)."""
    checked = time.monotonic()
    if checked - state.file_checked < FILE_CHECK_SECONDS and state.file_stamp is not None:
        return state.file_items
    state.file_checked = checked
    path = faq_file(services)
    stamp = (str(path), path.stat().st_mtime if path.exists() else 0.0)
    if stamp != state.file_stamp:
        state.file_items = load_faq_file(path)
        state.file_stamp = stamp
    return state.file_items


def custom_entries(services: Services, group_id: str) -> Custom:
    """The group's own entries, read in the caller's thread if not in memory (commands only)."""
    state = state_of(services)
    found = state.custom.get(group_id)
    if found is None:
        found = state.custom[group_id] = tuple(FaqStore(services.repo.engine).custom(group_id))
    return found


async def load_custom(services: Services, group_id: str) -> None:
    """Bring the group's own entries into memory, reading them in a worker thread (once per group)."""
    state = state_of(services)
    if group_id in state.custom:
        return
    generation = state.custom_generation
    found = tuple(await asyncio.to_thread(FaqStore(services.repo.engine).custom, group_id))
    if state.custom_generation == generation:  # no entry was added or removed meanwhile
        state.custom[group_id] = found


def custom_changed(services: Services, group_id: str) -> None:
    """A leader added or removed an entry: the group's entries (and so its matcher) are read again."""
    state = state_of(services)
    state.custom_generation += 1
    state.custom.pop(group_id, None)
