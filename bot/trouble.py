"""Episodes of a failing dependency (the database, the disk), told to admins once each.

A locked or full database fails every write for as long as it lasts; logging each
failure is right, but an admin must hear about the episode once, not per message.
The notice itself goes through the outbox, which needs the database, so it is
retried on every later failure or recovery until it could be queued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loguru import logger

from bot.storage.errors import classify, describe

Notify = Callable[..., None]


def is_storage_error(exc: BaseException) -> bool:
    """Errors that mean the database or its disk failed, not a bug in the caller."""
    return classify(exc) != "internal"


@dataclass
class Trouble:
    """One episode of one kind of failure."""

    kind: str
    since: datetime
    detail: str
    count: int = 1
    reported: bool = False


class TroubleDesk:
    """Counts failures per kind and reports the start and the end of each episode once."""

    def __init__(self, notify: Notify) -> None:
        self.notify = notify
        self.open: dict[str, Trouble] = {}

    def failed(self, kind: str, exc: BaseException, now: datetime) -> Trouble:
        trouble = self.open.get(kind)
        if trouble is None:
            trouble = self.open[kind] = Trouble(
                kind=kind, since=now, detail=describe(getattr(exc, "orig", None) or exc)
            )
            logger.bind(trouble=kind).error("{} failing since {}: {}", kind, now, trouble.detail)
        else:
            trouble.count += 1
        self._report(trouble, "admin/trouble_started.j2")
        return trouble

    def ok(self, kind: str, now: datetime) -> None:
        trouble = self.open.get(kind)
        if trouble is None:
            return
        if not trouble.reported:
            self._report(trouble, "admin/trouble_started.j2")
        if not trouble.reported:
            return  # still cannot queue anything: keep the episode open
        del self.open[kind]
        logger.bind(trouble=kind).warning("{} recovered after {} failure(s)", kind, trouble.count)
        self._send("admin/trouble_ended.j2", trouble, now=now)

    def _report(self, trouble: Trouble, template: str) -> None:
        if trouble.reported:
            return
        trouble.reported = self._send(template, trouble)

    def _send(self, template: str, trouble: Trouble, **extra: Any) -> bool:
        try:
            self.notify(
                template,
                kind=trouble.kind,
                since=trouble.since,
                detail=trouble.detail,
                count=trouble.count,
                **extra,
            )
        except Exception as exc:  # the notice needs the failing database too; try again later
            logger.bind(trouble=trouble.kind).debug("trouble notice not queued yet: {}", exc)
            return False
        return True
