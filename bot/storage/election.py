"""Exactly one scheduler among several account processes, elected through PostgreSQL.

Every account process writes its jobs to the one shared job store, but APScheduler 3 runs a
store correctly from one process only, so the role is a session-level advisory lock held on
a connection for the process's life: the server frees it the moment the holder's connection
dies (a SIGKILL too), and a standby process that asks every few seconds takes it over. The
`process_lease` row named `scheduler` only says who holds it, for people and tests; the lock
is the truth. The exactly-once ledger makes the hand-over safe: a node the dead process was
fanning out is run again by the new holder and posts only to the groups not yet claimed.
"""

from __future__ import annotations

import contextlib
import os
import socket
from datetime import UTC, datetime

from loguru import logger
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from bot.storage.lease import advisory_key, write_holder

SCHEDULER_LEASE = "scheduler"
ELECTION_SECONDS = 5.0  # how often a standby asks: the role moves within this after a death


class SchedulerElection:
    """Asks for, holds and gives up the scheduler role of one account process."""

    def __init__(self, engine: Engine, account: str) -> None:
        self.engine = engine
        self.account = account
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{account}"
        self._conn: Connection | None = None

    @property
    def leading(self) -> bool:
        return self._conn is not None

    def try_lead(self) -> bool:
        """Take the role if nobody holds it (blocking: call it off the event loop)."""
        if self._conn is not None:
            return True
        conn = self.engine.connect()
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(SCHEDULER_LEASE)}
            ).scalar_one()
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        self._record()
        logger.bind(account=self.account).warning(
            "scheduler: this process (account {}) runs the scheduler", self.account
        )
        return True

    def _record(self) -> None:
        with self.engine.begin() as conn:
            write_holder(conn, SCHEDULER_LEASE, self.holder, datetime.now(UTC))

    def release(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(Exception):
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(SCHEDULER_LEASE)})
            self._conn.commit()
        with contextlib.suppress(Exception):
            self._conn.close()
        self._conn = None
