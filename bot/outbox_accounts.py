"""The outbox with several accounts on one database: whose row a post is, and rows taken over.

Each account process sends only its own rows. A post queued for a group that another account
serves (the scheduler's process fans a timeline node out to every group) is written to the
table as that account's, unclaimed, and not held here; that account's process claims it
(`OutboxStore.claim`, in the peer sync) and adopts it into its queue. With one account every
row is this process's and nothing here changes what the outbox does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from loguru import logger

from bot.outbox_pick import Queued
from bot.outbox_queue import OutboxQueue
from bot.outbox_rows import queued_from_row
from bot.storage.outbox_store import OutboxStore
from bot.storage.tables import OutboxRow


class AccountRouting:
    """The accounts half of `Outbox` (a mixin)."""

    store: OutboxStore
    queue: OutboxQueue
    _wake: asyncio.Event
    route: Callable[[str], str] | None = None  # group id -> the account that serves it now
    _add: Callable[[Queued], None]  # the outbox's (annotations only: they must not shadow it)
    _remove: Callable[[Queued], None]

    def account_of(self, group_id: str) -> str:
        """The account a post to `group_id` belongs to ("" with one account)."""
        if self.route is None:
            return self.store.account
        return self.route(group_id)

    def is_mine(self, account: str) -> bool:
        return account == self.store.account

    def adopt(self, rows: list[OutboxRow]) -> int:
        """Hold rows this account just claimed; a newer row with a queued one's `replace_key`
        replaces it (the stock post the scheduler's process re-queued), as `enqueue` would."""
        adopted = 0
        for row in rows:
            if row.id is None or self.queue.get(row.id) is not None:
                continue
            item = queued_from_row(row)
            if item.replace_key:
                older_id = self.queue.by_replace.get((item.target, item.replace_key))
                older = self.queue.get(older_id) if older_id is not None else None
                if older is not None and not older.sending and older.id < item.id:
                    self._remove(older)
                    self.store.cancel_behind([older.id])
            self._add(item)
            adopted += 1
        if adopted:
            logger.bind(account=self.store.account).debug("outbox: adopted {} claimed row(s)", adopted)
            self._wake.set()
        return adopted
