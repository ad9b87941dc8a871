"""The peer sync of one account process among several (docs/deploy.md): once a second, off the loop.

Several account processes share one PostgreSQL and nothing else, so each learns what the
others did from the table, in one worker-thread pass a second:

1. which accounts are up: their lease rows (`account:<id>`) with a fresh heartbeat and not
   logged out, and which groups an account was removed from (`account_absences`). A group
   whose primary is down or removed is served by its next lister that is up; that
   process moves the down account's still-queued posts to the group onto itself
   (`OutboxStore.take_over`, conditional on `queued`) and tells the admins once;
2. the posts others queued for this account (the scheduler's fan-out, a take-over), claimed
   and held in this process's queue (`OutboxStore.claim`): each row goes to one process. A
   private message to a member this process never heard is queued UNROUTED and given here to
   an account that serves one of the member's groups (`OutboxStore.route_unrouted`);
3. the memory features keep of shared rows (`bot.shared_state`): group states, stock,
   pause and delay;
4. the scheduler role: a standby asks for it every `ELECTION_SECONDS`; when it gets it, the
   app's `on_lead` resumes its paused scheduler. Until then it runs its own transport's health
   check every minute (the health job runs in the scheduler's process, for that one only).

Steps 1–3 read or write the database in the worker thread; the event loop only applies
what they return (memory).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy import select

from bot.accounts import AccountDirectory
from bot.context import Services
from bot.shared_state import SharedState
from bot.storage.absences import absences
from bot.storage.election import ELECTION_SECONDS, SchedulerElection
from bot.storage.lease import TABLE, TTL_SECONDS, account_lease_name
from bot.storage.tables import OutboxRow

SYNC_SECONDS = 1.0
HEALTH_SECONDS = 60.0


@dataclass
class Pass:
    """What one worker-thread pass found, for the loop to apply."""

    down: frozenset[str]
    moved: dict[str, tuple[list[str], int]]  # down account -> (groups taken over, posts moved)
    claimed: list[OutboxRow]
    shared: list[tuple[SharedState, Any]]
    became_leader: bool


@dataclass
class AccountSync:
    """Runs the peer sync for this process (see the module docstring)."""

    services: Services
    directory: AccountDirectory
    election: SchedulerElection
    on_lead: Callable[[], None]
    notify_admins: Callable[..., None]
    check_health: Callable[[], None] = lambda: None
    ttl: float = TTL_SECONDS
    _next_election: float = 0.0
    _next_health: float = 0.0
    _told: dict[str, frozenset[str]] = field(default_factory=dict)  # down account -> groups told

    @property
    def engine(self) -> Any:
        return self.services.repo.engine

    async def run(self) -> None:
        """Sync until cancelled; a failed pass is logged and retried (the database may be away)."""
        while True:
            try:
                found = await asyncio.to_thread(self.sync_once)
                self.apply(found)
            except Exception as exc:
                logger.bind(account=self.directory.me).warning("accounts: peer sync failed: {}", exc)
            await asyncio.sleep(SYNC_SECONDS)

    # -- the worker-thread pass ------------------------------------------------------------
    def sync_once(self) -> Pass:
        down, absent = self._down_accounts()
        self.directory.set_down(down, absent)
        store = self.services.outbox.store
        moved: dict[str, tuple[list[str], int]] = {}
        for account, groups in self.directory.taken_over().items():
            count = store.take_over(account, groups)
            moved[account] = (groups, count)
        store.route_unrouted(self.directory.route_member)
        claimed = store.claim()
        shared = [(state, state.read()) for state in self.services.shared_state]
        became_leader = False
        if not self.election.leading and time.monotonic() >= self._next_election:
            self._next_election = time.monotonic() + ELECTION_SECONDS
            became_leader = self.election.try_lead()
        return Pass(frozenset(down), moved, claimed, shared, became_leader)

    def _down_accounts(self) -> tuple[set[str], set[tuple[str, str]]]:
        """Accounts without a live process (no lease row, a stale heartbeat, or logged out), and
        the groups accounts were removed from."""
        names = {account_lease_name(a): a for a in self.directory.order}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TABLE.c.name, TABLE.c.heartbeat_at, TABLE.c.state).where(TABLE.c.name.in_(names))
            ).all()
            absent = absences(conn)
        fresh = datetime.now(UTC) - timedelta(seconds=self.ttl)
        up = {names[r[0]] for r in rows if r[2] == "online" and r[1] is not None and r[1] >= fresh}
        return set(self.directory.order) - up - {self.directory.me}, absent

    # -- on the loop -------------------------------------------------------------------------
    def apply(self, found: Pass) -> None:
        self.services.outbox.adopt(found.claimed)
        for state, snapshot in found.shared:
            state.apply(snapshot)
        self._tell_admins(found)
        if found.became_leader:
            self.on_lead()
        if not self.election.leading and time.monotonic() >= self._next_health:
            # The health job runs in the scheduler's process and checks that one's transport only.
            self._next_health = time.monotonic() + HEALTH_SECONDS
            self.check_health()

    def _tell_admins(self, found: Pass) -> None:
        log = logger.bind(account=self.directory.me)
        for account, (groups, count) in found.moved.items():
            told = self._told.get(account, frozenset())
            if set(groups) <= told:
                continue
            self._told[account] = told | set(groups)
            removed = account not in found.down  # up, but taken out of these groups
            log.warning(
                "accounts: {} is {}; this account serves {} ({} queued posts moved)",
                account,
                "out of them" if removed else "down",
                groups,
                count,
            )
            self.notify_admins(
                "admin/account_failover.j2",
                down=account,
                removed=removed,
                me=self.directory.me,
                groups=groups,
                moved=count,
            )
        for account in [a for a in self._told if a not in found.moved]:  # it serves them again
            groups = sorted(self._told.pop(account))
            log.warning("accounts: {} is back; it serves its groups again", account)
            self.notify_admins("admin/account_back.j2", back=account, me=self.directory.me, groups=groups)
