"""The outbox's rows as the queue holds them: a draft to queue, and a row read back into memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.events import IMAGE_KIND
from bot.outbox_pick import Queued
from bot.outbox_queue import target_of
from bot.storage.tables import OutboxRow
from bot.vocab import Priority

__all__ = ["Draft", "queued_from_row"]


@dataclass(frozen=True)
class Draft:
    """A message to queue with `enqueue_atomic`."""

    text: str
    group_id: str = ""
    member_id: str = ""
    priority: int = Priority.DEFAULT
    kind: str = "reply"
    replace_key: str = ""
    mentions: tuple[str, ...] = ()

    @classmethod
    def image(
        cls, path: Path | str, *, group_id: str = "", member_id: str = "", priority: int = Priority.DEFAULT
    ) -> Draft:
        """A picture to queue: `path` names a file already written (see `Outbox.enqueue_image`)."""
        return cls(text=str(path), group_id=group_id, member_id=member_id, priority=priority, kind=IMAGE_KIND)


def queued_from_row(row: OutboxRow) -> Queued:
    """A queued row read from the table (a restart, a claim), as the queue holds it.

    It counts as stale: a kind rendered at send is rendered again from what is committed now."""
    assert row.id is not None
    return Queued(
        priority=row.priority,
        id=row.id,
        target=target_of(row.group_id, row.member_id),
        group_id=row.group_id,
        member_id=row.member_id,
        text=row.text,
        mentions=tuple(m for m in row.mentions.split(",") if m),
        kind=row.kind,
        replace_key=row.replace_key,
        attempts=row.attempts,
        not_before=row.not_before,
        stale=True,
    )
