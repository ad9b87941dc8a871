"""Memory kept of rows that other account processes also change (several accounts: docs/deploy.md).

A process answers most questions from memory (a group's ordering state, the stock shown, a
campaign's pause and delay), kept current by its own writes. With several account processes
on one database, another process's writes (the scheduler's process opens a group; a leader
served by another account delays the sale) would leave that memory behind, so each holder
registers a `SharedState` and the peer sync (`bot.account_sync`) refreshes it every second:
`read` off the event loop, `apply` on it. With one process nothing calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Follow", "SharedState"]


class SharedState(Protocol):
    """One holder of memory that other processes' writes can make stale."""

    def read(self) -> Any:
        """Read the rows (in the peer sync's worker thread: never on the event loop)."""
        ...

    def apply(self, snapshot: Any) -> None:
        """Bring memory up to `snapshot` (on the event loop; memory only, no database)."""
        ...


@dataclass(frozen=True)
class Follow:
    """A `SharedState` from a holder's own pair of methods (its bulk read, and taking it whole)."""

    read: Callable[[], Any]
    apply: Callable[[Any], None]
