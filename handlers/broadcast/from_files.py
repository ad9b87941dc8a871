"""One-off broadcasts from campaign files (`broadcasts.messages`): kept in step with what is loaded.

Each message of a loaded campaign becomes a broadcast exactly like a chat `/broadcast` (a row per
broadcast, a code per group, a persistent job, `Broadcasts.deliver` sending it once), with no
preview (an admin wrote the file) and no author (only admins may cancel it). What ties a
message to its broadcast is its key: the campaign id and a hash of (time, targets, text), in
`broadcast_sources.live_key` (unique). So, each time the campaigns change:

- a message whose key has a live broadcast is left alone (reloading the same file, a restart);
- a message with no live broadcast gets one, unless its time is more than `LATE` past: a message
  first seen after its moment is not sent (the campaign runtime skips its stale informational
  nodes alike), and a message already sent is never sent again, even after an edit;
- a live key the campaign no longer has (the message edited or removed, the file removed, or
  gone while the bot was down) loses its key, and its broadcast is cancelled if still pending.
  A campaign not loaded whose file still exists (it failed to load) keeps its broadcasts: the
  last good version stands, as for the campaign's timeline.

Only the process that runs the scheduler does this (`runtime.leading`: with several accounts,
the elected one). The campaign runtime has no load event, so `FileSync` watches
`runtime.generation` (an integer read once a second, on the loop) and syncs when the set of
loaded campaign versions changed.

A message naming a group or tag config.yaml does not have, or carrying a 广告法 claim, never
gets here: the loader refuses the file at that line (`bot.campaign.loader.load_configured`) and
the last good version keeps running, as for any campaign error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger
from sqlalchemy import select, update

from bot.context import Services
from handlers.broadcast import jobs
from handlers.broadcast.service import Broadcasts, Source, Taken, broadcasts_of
from handlers.broadcast.tables import SOURCES
from handlers.broadcast.targets import groups_named

if TYPE_CHECKING:
    from bot.campaign.models import Campaign
    from bot.campaign.runtime import Loaded

LATE = timedelta(minutes=10)
"""A message first seen up to this long after its time still goes out (an admin saving a file a
minute late); later, it is stale news and is not sent."""
CANCELLED_BY_FILE = "campaign-file"
WATCH_SECONDS = 1.0


@dataclass(frozen=True)
class Wanted:
    """One message of a loaded campaign, resolved: when, to which groups, its key."""

    key: str
    campaign_id: str
    file: str
    position: int
    due_at: datetime
    words: tuple[str, ...]
    groups: tuple[str, ...]
    text: str


@dataclass
class Outcome:
    created: list[tuple[int, datetime]] = field(default_factory=list)  # (broadcast id, due)
    cancelled: list[int] = field(default_factory=list)
    late: list[Wanted] = field(default_factory=list)


def message_key(campaign_id: str, due_at: datetime, words: tuple[str, ...], text: str) -> str:
    digest = hashlib.sha256(json.dumps([due_at.isoformat(), list(words), text]).encode()).hexdigest()
    return f"{campaign_id}:{digest[:24]}"


def wanted_of(services: Services, loaded: Loaded) -> list[Wanted]:
    """A campaign's messages as broadcasts to make. The loader has checked their targets against
    config.yaml's groups and their texts against the 广告法 list: a file with a bad message does
    not load (file:line and field), so every message here names groups and may be sent."""
    campaign, config = loaded.campaign, services.config
    wanted: list[Wanted] = []
    for i, message in enumerate(campaign.broadcasts.messages):
        due = campaign.resolve(message.at)
        words = tuple(message.to)
        wanted.append(
            Wanted(
                message_key(campaign.id, due, words, message.text),
                campaign.id,
                str(loaded.path),
                i,
                due,
                words,
                tuple(groups_named(config, message.to)),
                message.text,
            )
        )
    return wanted


def reconcile(book: Broadcasts, wanted: list[Wanted], loaded_ids: set[str], now: datetime) -> Outcome:
    """Bring the stored broadcasts in step with the loaded messages (database: a worker thread)."""
    by_key = {w.key: w for w in wanted}
    outcome = Outcome()
    with book.engine.connect() as conn:
        live = conn.execute(
            select(
                SOURCES.c.id, SOURCES.c.broadcast_id, SOURCES.c.campaign_id, SOURCES.c.file, SOURCES.c.key
            ).where(SOURCES.c.live_key.is_not(None))
        ).all()
    standing: set[str] = set()
    for source_id, broadcast_id, campaign_id, file, key in live:
        # Not loaded: its file was removed (while the bot was down, too), or it failed to load.
        gone = key not in by_key if campaign_id in loaded_ids else not Path(file).exists()
        if not gone:
            standing.add(key)
            continue
        if _retire(book, int(source_id), int(broadcast_id)):
            outcome.cancelled.append(int(broadcast_id))
    for want in wanted:
        if want.key in standing:
            continue
        if want.due_at < now - LATE:
            outcome.late.append(want)
            continue
        source = Source(want.campaign_id, want.file, want.position, want.key)
        try:
            broadcast_id, _ = book.create(
                "", want.text, " ".join(want.words), list(want.groups), want.due_at, now, source
            )
        except Taken:
            continue  # another process made it meanwhile
        outcome.created.append((broadcast_id, want.due_at))
    return outcome


def _retire(book: Broadcasts, source_id: int, broadcast_id: int) -> bool:
    """The file no longer has the message: free its key, cancel it if pending; True if cancelled."""
    with book.engine.begin() as conn:
        cancelled = book.cancel_pending(conn, broadcast_id, CANCELLED_BY_FILE)
        conn.execute(update(SOURCES).where(SOURCES.c.id == source_id).values(live_key=None))
    if cancelled:
        book.forget(broadcast_id)
    return cancelled


class FileSync:
    """Keeps the campaign files' one-off messages scheduled (see the module docstring)."""

    def __init__(self, services: Services, every: float = WATCH_SECONDS) -> None:
        self.services = services
        self.every = every
        self._generation = -1
        self._versions: dict[str, Campaign] = {}
        self._late: set[str] = set()  # keys already logged as too late
        self._task: asyncio.Task[None] | None = None
        self.syncs = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="broadcast-file-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.check()
            except Exception:
                logger.opt(exception=True).error("broadcast: syncing the campaign files' messages failed")
                self._generation = -1  # try again at the next tick

    async def check(self) -> Outcome | None:
        """Sync when the loaded campaign versions changed since the last sync (else None)."""
        runtime = self.services.campaigns
        if not runtime.leading or runtime.generation == self._generation:
            return None  # a standby account process: the elected one syncs (and later, maybe, this)
        self._generation = runtime.generation
        versions = {cid: loaded.campaign for cid, loaded in runtime.campaigns.items()}
        same = versions.keys() == self._versions.keys()
        if self._versions and same and all(versions[c] is self._versions[c] for c in versions):
            return None
        self._versions = versions
        return await self.sync()

    async def sync(self) -> Outcome:
        """Reconcile now: create, cancel, schedule."""
        services, runtime = self.services, self.services.campaigns
        if runtime.scheduler is None:
            return Outcome()
        loaded = list(runtime.campaigns.values())
        book = broadcasts_of(services)
        now = services.clock.now()

        def work() -> Outcome:
            wanted = [w for entry in loaded for w in wanted_of(services, entry)]
            return reconcile(book, wanted, {e.campaign.id for e in loaded}, now)

        outcome = await asyncio.to_thread(work)
        self.syncs += 1
        for broadcast_id in outcome.cancelled:
            jobs.unschedule(services, broadcast_id)
            logger.bind(broadcast=broadcast_id).info("broadcast: cancelled, its campaign file dropped it")
        for broadcast_id, due in outcome.created:
            logger.bind(broadcast=broadcast_id).info(
                "broadcast from a campaign file, due {}", due.isoformat()
            )
            if due <= now:
                await jobs.send_now(services, broadcast_id)
            else:
                jobs.schedule(services, broadcast_id, due)
        for want in outcome.late:
            if want.key not in self._late:
                self._late.add(want.key)
                logger.bind(campaign=want.campaign_id).warning(
                    "broadcast: {} messages[{}] was due {} before it was first loaded; not sent",
                    Path(want.file).name,
                    want.position,
                    want.due_at.isoformat(),
                )
        return outcome


def file_sync(services: Services) -> FileSync:
    return services.get_or_make(FileSync, lambda: FileSync(services))


__all__ = [
    "CANCELLED_BY_FILE",
    "LATE",
    "FileSync",
    "Outcome",
    "Wanted",
    "file_sync",
    "message_key",
    "reconcile",
]
