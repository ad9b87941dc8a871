"""The per-message view handed to handler matchers: what a message is about, from memory only.

The router builds it at most once per message, and only when a handler with a
matcher is reached (`bot.router`). Everything on it is read from memory or computed
lazily and then kept for the other matchers of the same message: the normalised
text (`core`), the group's campaigns (`CampaignRuntime.in_group`, memoised), and
the feature services matchers consult (`service`). No attribute reads the database:
a matcher runs on the event loop for every message, chatter included.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from bot.events import Event, GroupMessage, PrivateMessage
from bot.text import fold_nfkc, trim

if TYPE_CHECKING:
    from bot.campaign.active import ActiveCampaign
    from bot.context import Services

T = TypeVar("T")


class MessageView:
    """One message, seen by the matchers; attributes are computed on first use, then kept."""

    __slots__ = (
        "_campaigns",
        "_core",
        "_nfkc",
        "_normalized",
        "event",
        "group_id",
        "sender_id",
        "services",
        "text",
    )

    def __init__(self, services: Services, event: Event) -> None:
        self.services = services
        self.event = event
        self.text: str = getattr(event, "text", "")
        self.group_id: str = getattr(event, "group_id", "")
        sender = getattr(event, "sender", None)
        self.sender_id: str = sender.id if sender is not None else ""
        self._core: str | None = None
        self._nfkc: str | None = None
        self._normalized: str | None = None
        self._campaigns: tuple[ActiveCampaign, ...] | None = None

    @property
    def nfkc(self) -> str:
        """The text in Unicode NFKC (full-width forms folded), computed once for every matcher."""
        if self._nfkc is None:
            self._nfkc = unicodedata.normalize("NFKC", self.text)
        return self._nfkc

    @property
    def normalized(self) -> str:
        """The text as `bot.text.normalize` makes it (NFKC, casefold, no spaces), computed once."""
        if self._normalized is None:
            self._normalized = fold_nfkc(self.nfkc)
        return self._normalized

    @property
    def core(self) -> str:
        """The text normalised for keyword matching (`bot.text.core`), computed once per message."""
        if self._core is None:
            self._core = trim(self.normalized)
        return self._core

    @property
    def campaigns(self) -> tuple[ActiveCampaign, ...]:
        """Every loaded campaign that runs in this message's group (memoised by the runtime)."""
        if self._campaigns is None:
            self._campaigns = self.services.campaigns.in_group(self.group_id) if self.group_id else ()
        return self._campaigns

    @property
    def in_group(self) -> bool:
        return isinstance(self.event, GroupMessage)

    @property
    def is_private(self) -> bool:
        return isinstance(self.event, PrivateMessage)

    def service(self, kind: type[T]) -> T | None:
        """A feature's service (its in-memory state) by type, or None when not installed."""
        return self.services.find(kind)


def view_of(services: Services) -> Callable[[Event], MessageView]:
    """The `Services.view_of` the app installs: a fresh `MessageView` per message."""

    def build(event: Event) -> MessageView:
        return MessageView(services, event)

    return build
