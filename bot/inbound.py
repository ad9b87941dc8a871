"""The inbound bookkeeping, decided in memory and written behind the event loop.

For every event the app records, before dispatch: the inbound log row of a message,
the group and the member (first sight, a new display name), joins and leaves, a
rename, the bot removed from a group. Deciding what to write needs only memory (the
duplicate window, the known groups and members); the rows go to a `WriteBehind`
writer that commits them in micro-batches from its own thread. So a member's chatter
costs the loop a few dictionary look-ups and a queue append, not a round trip.

* Duplicates: the router's `SeenIds` window is the one duplicate check (preloaded at
  start with the newest logged message ids, so a redelivery across a restart is still
  dropped); the inbound log's unique key is the backstop (ON CONFLICT DO NOTHING).
* Rare events whose rows handlers read right away (joins, leaves, renames, the bot
  removed) are barriers: `App.handle_event` awaits `written()` before dispatching them
  (the loop keeps running meanwhile). So is every event while a storage episode is
  open, which is how the app learns, per event, whether the database is back.
* Readers of these tables in this process call `flush()` first (through
  `Services.flush_inbound()` or `App.flush_inbound()`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from loguru import logger
from lru import LRU

from bot.events import (
    Event,
    GroupMessage,
    GroupRenamed,
    MemberJoined,
    MemberLeft,
    PrivateMessage,
    TransportStatus,
)
from bot.router import SeenIds, event_id
from bot.storage.bookkeeping import Bookkeeping
from bot.storage.repo import Repo
from bot.storage.writebehind import WriteBehind
from bot.trace_log import INFO, trace

KNOWN_GROUPS_CACHE = 20_000
KNOWN_MEMBERS_CACHE = 50_000
BARRIERS = (MemberJoined, MemberLeft, GroupRenamed, TransportStatus)
ORIGIN = "bot.inbound:record"  # where these lines come from, as loguru would name it


class InboundRecorder:
    """Records inbound events in memory and queues their rows for the write-behind writer."""

    def __init__(
        self,
        repo: Repo,
        seen: SeenIds,
        *,
        on_trouble: Callable[[BaseException], object] | None = None,
        on_recovered: Callable[[], object] | None = None,
        in_process: bool = False,
    ) -> None:
        self.repo = repo
        self.seen = seen
        self.rows = Bookkeeping(repo.engine)
        self.writer = WriteBehind(
            repo.engine,
            name="inbound-writer",
            on_trouble=on_trouble,
            on_recovered=on_recovered,
            in_process=in_process,
        )
        # Bounded, because a bot in thousands of groups sees hundreds of thousands of members:
        # a miss costs one idempotent upsert in the next batch, never a read.
        self.known_groups: LRU[str, str] = LRU(KNOWN_GROUPS_CACHE)
        self.known_members: LRU[tuple[str, str], str] = LRU(KNOWN_MEMBERS_CACHE)

    def load(self) -> None:
        """Preload the duplicate window with the newest logged ids (one read, at start)."""
        for message_id in self.repo.recent_message_ids(self.seen.size):
            self.seen.first_time(message_id)

    @staticmethod
    def is_barrier(event: Event) -> bool:
        """Events whose rows handlers read at once: dispatch them after their rows are written."""
        return isinstance(event, BARRIERS)

    def record(self, event: Event) -> bool:
        """Queue the event's rows; False if its id was seen before (a redelivery). Memory only."""
        if not self.seen.first_time(event_id(event)):
            if isinstance(event, GroupMessage | PrivateMessage):
                logger.bind(msg_id=event.message_id, sender=event.sender.id).info("inbound duplicate dropped")
            return False
        now = event.time
        put, rows = self.writer.put, self.rows
        if isinstance(event, GroupMessage):
            sender = event.sender
            put(rows.inbound(event.message_id, "group", event.group_id, sender.id, event.text, now))
            trace(
                INFO,
                ORIGIN,
                "inbound {}: {}",
                sender.name,
                event.text[:80].replace("\n", " ⏎ "),
                msg_id=event.message_id,
                group=event.group_id,
                sender=sender.id,
            )
            self._touch_group(event.group_id, event.group_name, now)
            key = (event.group_id, sender.id)
            if self.known_members.get(key) != sender.name:
                put(*rows.touch_member(event.group_id, sender.id, sender.name, now))
                self.known_members[key] = sender.name
        elif isinstance(event, PrivateMessage):
            put(rows.inbound(event.message_id, "private", "", event.sender.id, event.text, now))
            trace(
                INFO,
                ORIGIN,
                "inbound private: {}",
                event.text[:80],
                msg_id=event.message_id,
                sender=event.sender.id,
            )
            put(*rows.touch_member("", event.sender.id, event.sender.name, now))
        elif isinstance(event, MemberJoined):
            self._touch_group(event.group_id, event.group_name, now)
            for member in event.members:
                put(*rows.join(event.group_id, member.id, member.name, now))
                self.known_members[(event.group_id, member.id)] = member.name
            logger.bind(group=event.group_id).info("joined: {}", ", ".join(m.id for m in event.members))
        elif isinstance(event, MemberLeft):
            for member in event.members:
                put(rows.leave(event.group_id, member.id, now))
                self.known_members.pop((event.group_id, member.id), None)
            logger.bind(group=event.group_id).info("left: {}", ", ".join(m.id for m in event.members))
        elif isinstance(event, GroupRenamed):
            put(rows.touch_group(event.group_id, event.new_name, now))
            self.known_groups[event.group_id] = event.new_name
            self.repo.note_group_name(event.group_id, event.new_name)
        elif isinstance(event, TransportStatus) and event.kind == "removed_from_group" and event.group_id:
            put(rows.bot_present(event.group_id, False, now))
        return True

    def _touch_group(self, group_id: str, name: str, now: datetime) -> None:
        if self.known_groups.get(group_id) != name:
            self.writer.put(self.rows.touch_group(group_id, name, now))
            self.known_groups[group_id] = name
            self.repo.note_group_name(group_id, name)

    @property
    def failing(self) -> bool:
        """True while the writer's last attempt failed (an episode is open)."""
        return self.writer.failing

    async def written(self) -> None:
        """Wait (off the loop) until every row queued so far is committed; raises if that fails."""
        await self.writer.written()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Block until every row queued so far is committed (for readers, the CLI and tests)."""
        return self.writer.flush(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """At shutdown: write what is queued, retrying until `timeout`."""
        return self.writer.close(timeout)
