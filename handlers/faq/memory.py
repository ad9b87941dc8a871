"""What the FAQ feature keeps in memory, so a member's question costs no database statement on the loop.

* The group-wide file's items, re-read when the file changes; the file is looked at
  (`os.stat`) at most once per `FILE_CHECK_SECONDS`, not three times a message.
* Leaders' own entries (`/faq add`), every group's: read in ONE statement when the app is
  built (`load_state`, from the feature's setup), then kept current by `/faq add` and
  `/faq del` in this process (`custom_added`, `custom_removed`). So the memory is complete:
  a group without an entry in it has none, and no message ever reads them. Its size is the
  table's (a leader adds entries by hand); one bot process owns the database (the lease).
* Matchers, keyed by what they are built from (the file, the group's campaigns, the
  group's own entries), so groups running the same campaigns without entries of their
  own share one matcher; and per group the matcher chosen last, checked by identity
  (`handlers.faq.intent`).
* "Answered recently" (the group and member cooldowns): memory only, as before.

Bounds: `MATCHERS_REMEMBERED` matchers (an evicted one is rebuilt), `GROUPS_REMEMBERED`
groups' last choice (an evicted one is chosen again), `ANSWERS_REMEMBERED` cooldown
entries each. A cooldown entry lasts at most a minute, so eviction can only let an
answer repeat if more than that many answers were given within the minute; the outbox
could not send them anyway. A restart clears it all but the entries, as before.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cachetools import LRUCache

from bot.context import Services
from handlers.faq.intents import Intent
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


@dataclass(eq=False, slots=True)
class Choice:
    """A matcher, what it was built from, and its decisions by (raw text, @bot) for chatter that repeats.

    Holding the campaigns keeps their ids unique while the matcher is remembered. A decision
    depends only on the text and the matcher's items (and jieba's vocabulary, see `decisions_for`),
    never on the group, so groups sharing a matcher share the decisions.
    """

    campaigns: tuple[object, ...]
    matcher: FaqMatcher
    decisions: OrderedDict[tuple[str, bool], Intent | None] = field(default_factory=OrderedDict)
    vocabulary: int = -1


@dataclass(eq=False, slots=True)
class Chosen:
    """A group's last choice, valid while its campaigns, own entries and the file are these very objects."""

    campaigns: object
    custom: Custom
    file_stamp: object
    choice: Choice


@dataclass
class FaqState:
    """Per-app FAQ state (see the module docstring for what each part is and its bound)."""

    file_items: list[FaqItem] = field(default_factory=list)
    file_stamp: tuple[str, float] | None = None
    file_checked: float = float("-inf")  # time.monotonic() of the last look at the file
    custom: dict[str, Custom] = field(default_factory=dict)  # complete once `loaded`
    loaded: bool = False
    matchers: LRUCache[Signature, Choice] = field(default_factory=lambda: LRUCache(MATCHERS_REMEMBERED))
    answered_in_group: LRUCache[tuple[str, str], datetime] = field(
        default_factory=lambda: LRUCache(ANSWERS_REMEMBERED)
    )
    answered_member: LRUCache[tuple[str, str], datetime] = field(
        default_factory=lambda: LRUCache(ANSWERS_REMEMBERED)
    )
    chosen: OrderedDict[str, Chosen] = field(
        default_factory=OrderedDict
    )  # bounded: GROUPS_REMEMBERED, oldest out


def load_state(services: Services) -> FaqState:
    """The feature's memory, complete: every group's own entries in one statement (start-up, setup)."""
    state = state_of(services)
    if not state.loaded:
        state.custom = FaqStore(services.repo.engine).all_custom()
        state.loaded = True
    return state


def state_of(services: Services) -> FaqState:
    """The app's FAQ memory (made empty here only if the feature's setup did not run: `custom_entries`)."""
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
    """The group's own entries, from memory.

    Memory is complete from the feature's setup on; an app built without that setup (a test's
    bare module) reads every group's entries here once, in bulk, never one group at a time.
    """
    state = state_of(services)
    if not state.loaded:
        load_state(services)
    return state.custom.get(group_id, ())


def custom_added(services: Services, group_id: str, entry: tuple[int, str, str]) -> None:
    """A leader's `/faq add` was committed: the entry joins the group's (ids grow, so it is the newest)."""
    state = state_of(services)
    if not state.loaded:  # no setup ran: the bulk read brings the committed entry in with the rest
        load_state(services)
        return
    state.custom[group_id] = (*state.custom.get(group_id, ()), entry)


def custom_removed(services: Services, group_id: str, entry_id: int) -> None:
    """A leader's `/faq del` was committed: the entry leaves the group's."""
    state = load_state(services)
    left = tuple(e for e in state.custom.get(group_id, ()) if e[0] != entry_id)
    if left:
        state.custom[group_id] = left
    else:
        state.custom.pop(group_id, None)
