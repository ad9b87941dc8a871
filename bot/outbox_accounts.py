"""The outbox with several accounts on one database: whose row a post is, and rows taken over.

Each account process sends only its own rows. A post queued for a group that another account
serves (the scheduler's process fans a timeline node out to every group) is written to the
table as that account's, unclaimed, and not held here; that account's process claims it
(`OutboxStore.claim`, in the peer sync) and adopts it into its queue. With one account every
row is this process's and nothing here changes what the outbox does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from loguru import logger
from sqlalchemy.engine import Connection

from bot.outbox_pick import Queued
from bot.outbox_queue import OutboxQueue
from bot.outbox_rows import Draft, queued_from_row
from bot.storage.outbox_store import OutboxStore
from bot.storage.tables import OutboxRow


class AccountRoute(Protocol):
    """`bot.accounts.AccountDirectory`, as the outbox asks it."""

    def route(self, group_id: str) -> str: ...

    def route_private(self, member_id: str) -> str: ...

    def route_member(self, member_id: str, groups: list[str]) -> str: ...


class AccountRouting:
    """The accounts half of `Outbox` (a mixin)."""

    store: OutboxStore
    queue: OutboxQueue
    _wake: asyncio.Event
    accounts: AccountRoute | None = None  # several accounts: who serves which group now
    _add: Callable[[Queued], None]  # the outbox's (annotations only: they must not shadow it)
    _remove: Callable[[Queued], None]

    def account_of(self, group_id: str, member_id: str = "") -> str:
        """The account a post to `group_id`, or a private message to `member_id`, belongs to."""
        if self.accounts is None:
            return self.store.account
        return self.accounts.route(group_id) if group_id else self.accounts.route_private(member_id)

    def accounts_of(self, conn: Connection, drafts: Sequence[Draft]) -> list[str]:
        """The account of each of a node's drafts, in its transaction. A private message goes
        through an account that serves one of the member's groups (WeChat lets an account write
        only to people it shares a group with or has added), not through the scheduler's."""
        if self.accounts is None:
            return [self.store.account] * len(drafts)
        members = sorted({d.member_id for d in drafts if d.member_id})
        homes = self.store.member_groups(conn, members) if members else {}
        return [
            self.accounts.route(d.group_id)
            if d.group_id
            else self.accounts.route_member(d.member_id, homes.get(d.member_id, []))
            for d in drafts
        ]

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
