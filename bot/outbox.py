"""The outbox: the single chokepoint for everything the bot sends.

WeChat bans accounts that send too fast, so every message waits here until
the per-group interval, the per-account rate, the pause when switching groups,
the daily budget and any frequency-error pause all allow it (`outbox_pacing`).
The queue lives in memory (`outbox_queue`) and is persisted behind it: queueing
costs the event loop no database round trip; the rows are written in batches by
the send loop (`outbox_sending`), which never hands a message to the network
before its row is committed and marked `sending`, and marks it `sent` after, so
a restart never resends one caught in between and no post goes out twice.
Handlers must expect replies to be delayed, and can pass a `replace_key` so a
newer version (the latest stock post) replaces a queued one. A post that is not
yet due (`delay`) never holds back one that is. Private alerts to one member are
merged into the one still queued for them, and private messages take at most
`private_burst` sends in a row while a group post is waiting.

Timeline posts (`enqueue_atomic`, and `enqueue_in` for a node hook's own posts) are
the exception: they are written in the transaction of their exactly-once ledger
claim, and queued here only after it commits.

Pictures (`enqueue_image`) are rows whose text is the path of a file already written:
they survive a restart and leave once, like a post, and are never masked (whoever draws
one masks what it shows), merged or replaced by text (`outbox_merge.foldable`).
A rolling post of a kind rendered at send (the 接龙 list) is only marked stale while it
waits, and rendered once, as it leaves (`outbox_sending.SendLoop.render_at_send`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from loguru import logger
from sqlalchemy.engine import Connection

from bot.clock import Clock, SystemClock
from bot.config import OutboxSettings
from bot.events import IMAGE_KIND
from bot.group_filter import GroupFilter
from bot.outbox_accounts import AccountRouting
from bot.outbox_merge import COALESCE_MAX_CHARS, foldable, merge_lines
from bot.outbox_pacing import OutboxStats, Pacing
from bot.outbox_pick import Chooser, Queued
from bot.outbox_queue import OutboxQueue, target_of
from bot.outbox_rows import Draft, queued_from_row
from bot.outbox_sending import SendLoop, SendRender
from bot.outbox_trouble import RecoveredCallback, Trouble, TroubleCallback
from bot.storage.outbox_store import OutboxStore
from bot.trace_log import DEBUG, trace
from bot.transports.base import Transport
from bot.vocab import Priority

__all__ = ["Draft", "Outbox", "OutboxStats"]


class Outbox(AccountRouting, SendLoop):
    """Rate-limited, prioritised, persistent send queue."""

    def __init__(
        self,
        store: OutboxStore,
        clock: Clock,
        settings: OutboxSettings,
        *,
        timezone: str = "Asia/Shanghai",
        rng: random.Random | None = None,
        on_budget_warning: Callable[[int, int], None] | None = None,
        on_trouble: TroubleCallback | None = None,
        on_recovered: RecoveredCallback | None = None,
        private_burst: int = 1,
        coalesce_max_chars: int = COALESCE_MAX_CHARS,
        write_in_thread: bool | None = None,
    ) -> None:
        """`write_in_thread`: commit in a worker thread (default: only on the system clock).

        On a fake or virtual clock, tests and the rehearsal driver move time once every task
        waiting on the clock is parked; a write in a thread they cannot see would let time
        move under it, so there the send loop writes inline (still one transaction a pass).
        """
        self.store = store
        self.clock = clock
        self.settings = settings
        self.tz = ZoneInfo(timezone)
        self.rng = rng or random.Random()
        self.on_budget_warning = on_budget_warning
        self.on_trouble = on_trouble
        self.on_recovered = on_recovered
        self.private_burst = max(1, private_burst)
        self.coalesce_max_chars = coalesce_max_chars
        self.write_in_thread = isinstance(clock, SystemClock) if write_in_thread is None else write_in_thread
        self.transport: Transport | None = None
        self.stats = OutboxStats()
        self.group_filter = GroupFilter()  # masks group posts as they leave; campaigns publish into it
        self.queue = OutboxQueue()
        self.pacing = Pacing(settings, self.tz, self.rng, store.count_sent_since, self.stats)
        self.chooser = Chooser(self.queue, self.pacing)  # follows both: re-files a target as they change
        self._trouble = Trouble()
        self._private_streak = 0
        self._wake = asyncio.Event()
        self._sent_times: dict[int, datetime] = {}
        self._renderers: dict[str, SendRender] = {}

    @property
    def _items(self) -> dict[int, Queued]:
        return self.queue.items

    # -- start-up ------------------------------------------------------------------------
    def load(self) -> None:
        """Restore the queue and the recent send history after a (re)start."""
        uncertain = self.store.recover_inflight()
        if uncertain:
            logger.warning(
                "outbox: {} message(s) were mid-send at shutdown; marked uncertain, not resent", uncertain
            )
        self.store.seed_ids()
        for row in self.store.queued():
            self._add(queued_from_row(row))
        now = self.clock.now()
        for group_id, member_id, sent_at in self.store.sent_since(now - timedelta(seconds=60)):
            self.pacing.restore(target_of(group_id, member_id), sent_at)
        self.pacing.roll_day(now)
        logger.info(
            "outbox: loaded {} queued message(s); {} sent today", len(self.queue), self.stats.sent_today
        )

    def attach(self, transport: Transport) -> None:
        self.transport = transport

    # -- queueing ------------------------------------------------------------------------
    def enqueue(
        self,
        text: str,
        *,
        group_id: str = "",
        member_id: str = "",
        priority: int = Priority.DEFAULT,
        kind: str = "reply",
        replace_key: str = "",
        mentions: tuple[str, ...] = (),
        delay: float = 0.0,
    ) -> int:
        """Queue a message; returns its outbox id at once (its row is written behind, in a batch).

        With `replace_key`, a still-queued message with the same key to the same
        target is replaced by this newer text instead of queuing another. With
        `delay` (bot seconds) it waits at least that long: together they combine
        bursts (one welcome for thirty joins, one 接龙 list for a flurry of orders).
        A private message of a kind in `COALESCE_KINDS` (alerts) is merged into
        the one of that kind still queued to the member, and that id is returned.
        While the database refuses writes, the row is written through and the
        refusal raised, as it was when every message was written at once.
        """
        if bool(group_id) == bool(member_id):
            raise ValueError("a message goes to exactly one of group_id or member_id")
        target = target_of(group_id, member_id)
        existing = self.queue.by_replace.get((target, replace_key)) if replace_key else None
        if existing is not None and self._kind_of(existing, kind) and self.replace(existing, text, mentions):
            return existing
        merged = self._merge(target, kind, text) if member_id and not replace_key else None
        if merged is not None:
            return merged
        now = self.clock.now()
        not_before = now + timedelta(seconds=delay) if delay > 0 else None
        row_id = self.store.allocate()
        account = self.account_of(group_id, member_id)
        self.store.insert_behind(
            row_id,
            {
                "group_id": group_id,
                "member_id": member_id,
                "text": text,
                "mentions": ",".join(mentions),
                "priority": int(priority),
                "kind": kind,
                "replace_key": replace_key,
                "not_before": not_before,
                "account": account,
                "claimed": self.is_mine(account),
            },
            now,
        )
        if not self.is_mine(account):  # another account's process claims and sends it
            self._wake.set()
            return row_id
        self._add(
            Queued(
                priority=int(priority),
                id=row_id,
                target=target,
                group_id=group_id,
                member_id=member_id,
                text=text,
                mentions=mentions,
                kind=kind,
                replace_key=replace_key,
                not_before=not_before,
            )
        )
        trace(DEBUG, "bot.outbox:enqueue", "outbox: queued", outbox_id=row_id, target=target, kind=kind)
        self._wake.set()
        return row_id

    def enqueue_image(
        self, path: Path | str, *, group_id: str = "", member_id: str = "", priority: int = Priority.DEFAULT
    ) -> int:
        """Queue a picture: `path` is a file already written. A missing file is refused here,
        where the caller hears of it, rather than at send time."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"no picture to send at {path}")
        return self.enqueue(
            str(path), group_id=group_id, member_id=member_id, priority=priority, kind=IMAGE_KIND
        )

    def _kind_of(self, row_id: int, kind: str) -> bool:
        """Whether the queued message `row_id` may take the text of a message of `kind`."""
        item = self.queue.get(row_id)
        return item is not None and foldable(item.kind, kind)

    def replace(self, outbox_id: int, text: str, mentions: tuple[str, ...] = ()) -> bool:
        """Give a still-queued message newer text; False if it has left or is leaving now."""
        item = self.queue.replaceable(outbox_id)
        if item is None:
            return False
        self.store.replace_behind(outbox_id, text, ",".join(mentions))
        item.text = text
        item.mentions = mentions
        item.stale = False
        self.stats.replaced += 1
        trace(
            DEBUG,
            "bot.outbox:replace",
            "outbox: replaced queued",
            outbox_id=outbox_id,
            target=item.target,
            kind=item.kind,
        )
        self._wake.set()  # so the send loop writes the newer text soon
        return True

    def _merge(self, target: str, kind: str, text: str) -> int | None:
        """Fold `text` into the message of `kind` still queued to `target`; its id, or None."""
        row_id = self.queue.coalesce.get((target, kind))
        item = self.queue.get(row_id) if row_id is not None else None
        if item is None or not foldable(item.kind, kind):
            return None
        merged = merge_lines(item.text, text, self.coalesce_max_chars)
        if merged is None:
            return None
        if merged == item.text or self.replace(item.id, merged, item.mentions):
            return item.id
        return None

    def cancel_queued(self, *, group_id: str, kind: str) -> int:
        """Drop still-queued messages of `kind` to `group_id` that became stale; how many.

        They are marked `cancelled` in the database (never sent, not even after a
        restart). A message already handed to the network is not touched.
        """
        stale = self.queue.stale(group_id, kind)
        for item in stale:
            self._remove(item)
        if stale:
            self.store.cancel_behind([item.id for item in stale])
            self._wake.set()
            logger.bind(group_id=group_id, kind=kind).info(
                "outbox: cancelled {} queued message(s)", len(stale)
            )
        return len(stale)

    def roll(
        self,
        previous_id: int | None,
        render: Callable[[bool], tuple[str, tuple[str, ...]]],
        **enqueue: Any,
    ) -> int:
        """One rolling post that grows while queued and says each thing once.

        `render(True)` is everything so far, to replace the still-queued post
        `previous_id`; `render(False)` is only what a new post must carry, queued
        (with `enqueue`'s arguments) when there is no previous post or it has left.
        Returns the id of the post that now carries the text.
        """
        if previous_id is not None:
            text, mentions = render(True)
            if self.replace(previous_id, text, mentions):
                return previous_id
        text, mentions = render(False)
        return self.enqueue(text, mentions=mentions, **enqueue)

    def enqueue_atomic(
        self,
        drafts: list[Draft],
        guard: Callable[[Connection], bool],
    ) -> list[int] | None:
        """Queue `drafts` in one transaction with `guard(conn)`; nothing is queued if it returns False.

        Timeline jobs use this to write their exactly-once ledger row and their
        posts together: either both are committed or neither is. Unlike `enqueue`,
        the rows are written now, and enter the queue only once that commit is done.
        """
        with self.store.engine.begin() as conn:
            if not guard(conn):
                return None
            # Read after the guard: a timeline chunk's guard keeps only the drafts of groups it claimed.
            ids, admit = self.enqueue_in(conn, drafts)
        admit()
        return ids

    def enqueue_in(self, conn: Connection, drafts: list[Draft]) -> tuple[list[int], Callable[[], None]]:
        """Write `drafts` in the caller's open transaction: their ids, and the step that queues them.

        Call the step only once that transaction has committed (a node hook registers it with
        `NodeRun.after_commit`): rolled back, the rows never existed and nothing is queued. The
        rows are in the table from the commit on, so a restart in between still sends them once.
        """
        accounts = self.accounts_of(conn, drafts)
        rows: list[dict[str, object]] = [
            {
                "group_id": d.group_id,
                "member_id": d.member_id,
                "text": d.text,
                "mentions": ",".join(d.mentions),
                "priority": int(d.priority),
                "kind": d.kind,
                "replace_key": d.replace_key,
                "account": account,
                "claimed": self.is_mine(account),
            }
            for d, account in zip(drafts, accounts, strict=True)
        ]
        ids = self.store.insert_many(conn, rows, self.clock.now())

        def admit() -> None:
            for row_id, d, account in zip(ids, drafts, accounts, strict=True):
                if not self.is_mine(account):
                    continue  # its account's process claims it
                self._add(
                    Queued(
                        priority=int(d.priority),
                        id=row_id,
                        target=target_of(d.group_id, d.member_id),
                        group_id=d.group_id,
                        member_id=d.member_id,
                        text=d.text,
                        mentions=d.mentions,
                        kind=d.kind,
                        replace_key=d.replace_key,
                    )
                )
            if ids:
                self._wake.set()

        return ids, admit

    def _add(self, item: Queued) -> None:
        self.queue.add(item)
        self.stats.queued = len(self.queue)

    # -- questions features ask (answered from memory: the table is written behind) ---------
    def pending(self) -> int:
        return len(self.queue)

    def queued_among(self, ids: Iterable[int]) -> set[int]:
        """Which of `ids` are still queued: not sent, not being sent, not cancelled or given up."""
        return self.queue.queued_among(ids)

    def holds(self, group_id: str, replace_key: str) -> bool:
        """Whether a post to `group_id` carrying `replace_key` has not left yet (queued or being sent)."""
        return self.queue.holds(group_id, replace_key)

    def sent_at(self, outbox_id: int) -> datetime | None:
        """When a message left; None while it has not (yet)."""
        if outbox_id in self.queue.items:
            return None
        known = self._sent_times.get(outbox_id)
        return known if known is not None else self.store.sent_at(outbox_id)
