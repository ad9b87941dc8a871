"""The welcome's matcher: of all group messages, only a possible unreported rejoin runs the body.

`handle_first_message` (priority 1) sees every group message. Its body used to run for each
of them, read a group's leavers in a worker thread the first time the group spoke, and return
False for almost every message. Now `match_rejoin` decides from memory, on the loop: the
rejoin candidates (`handlers.welcome.leavers`, complete from `App.build`) and the members
already checked (`Checked`). A member's chatter returns None, so it runs no body and no
statement.
"""

from __future__ import annotations

from enum import Enum

from cachetools import LRUCache

from bot.context import Services
from bot.events import GroupMessage
from bot.view import MessageView
from handlers.welcome.leavers import Leavers

CHECKED_CACHE = 50_000


class Rejoin(Enum):
    """What the body is asked to do."""

    CHECK = "check"
    """A candidate (listed, or any member of an "ask the database" group) not checked yet: look it up."""

    LOOKUP = "lookup"
    """The memory is incomplete (no feature setup) and has not read the group: read it, then decide."""


class Checked(LRUCache[tuple[str, str], bool]):
    """Members already checked for an unreported rejoin (bounded: an evicted one is only looked up again)."""


def checked_of(services: Services) -> LRUCache[tuple[str, str], bool]:
    """The process's set of members already checked (made on first use or by the feature's setup)."""
    return services.get_or_make(Checked, lambda: Checked(maxsize=CHECKED_CACHE))


def match_rejoin(msg: GroupMessage, view: MessageView) -> Rejoin | None:
    """`Rejoin.CHECK` for a candidate not yet checked, `Rejoin.LOOKUP` for a group an incomplete
    memory has not read, else None. Memory only (the body's first steps, moved before it)."""
    leavers = view.service(Leavers)
    if leavers is None:
        return Rejoin.LOOKUP  # the module without its feature's setup: the body makes a lazy memory
    group_id, member_id = view.group_id, view.sender_id
    candidate = leavers.candidate(group_id, member_id)
    if candidate is None:
        return Rejoin.LOOKUP
    if not candidate:
        return None
    checked = view.service(Checked)
    if checked is not None and (group_id, member_id) in checked:
        return None
    return Rejoin.CHECK
