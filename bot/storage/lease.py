"""One bot process per database: a lease taken at start-up and held until exit.

Two processes on one database deliver messages twice and fight over the scheduler's
jobs (issue 12, fault 6), so a second `tuanbot run` must refuse to start, saying who
runs, and take over only once the first is really gone:

* PostgreSQL: a session-level advisory lock on a connection held for the process's
  life. The server frees it the moment the holder's connection dies (kill -9 too).
* SQLite: the `process_lease` row, written in a ``BEGIN IMMEDIATE`` transaction and
  renewed by a heartbeat. It is taken over when its heartbeat is older than the TTL,
  or at once when its holder ran on this host and that process no longer exists.

With several accounts (docs/deploy.md, PostgreSQL only) each account process holds the lease
`account:<id>` instead: a second process for the same account refuses, processes of different
accounts run side by side, and all of them hold the database's lock shared, so a
single-account `tuanbot run` (which holds it exclusively) and account processes exclude each
other. Their rows' heartbeats tell the others which accounts are up (`bot.account_sync`).

Wall-clock time throughout: a lease is about real processes, not bot time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loguru import logger
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from bot.storage.engine import SQLITE_BEGIN_OPTION
from bot.storage.tables import ProcessLease

LEASE_NAME = "bot"
TTL_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0
# Any fixed 64-bit number; it only has to differ from other applications' advisory locks.
PG_LOCK_KEY = 0x7475_616E_626F_7401  # "tuanbot\x01"
TABLE = ProcessLease.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Holder:
    holder: str
    host: str
    pid: int
    pid_started: str
    since: datetime
    heartbeat_at: datetime


class LeaseHeld(Exception):
    """Another live process holds the lease; the message says who and what to do."""

    def __init__(self, holder: Holder | None, url: str, ttl: float, lease: str = LEASE_NAME) -> None:
        self.holder = holder
        if holder is None:
            who = "another tuanbot process"
        else:
            since = holder.since.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
            who = f"tuanbot on host {holder.host}, pid {holder.pid}, running since {since}"
        advice = (
            "Stop that process first (Ctrl-C, or kill its pid)."
            if holder is None or holder.host == socket.gethostname()
            else f"Stop it first; if that host is gone, starting works {ttl:.0f} s after its last heartbeat."
        )
        if lease == LEASE_NAME:
            what = f"is already using the database {url}. One process per database (or per account"
            what += " of accounts:, docs/deploy.md)"
        else:
            what = f"already runs {lease.replace(':', ' ')} on {url}. One process per account"
        super().__init__(f"{who} {what}. {advice}")


def process_started(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or '' where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def process_alive(pid: int, started: str) -> bool:
    """Whether the process that wrote a lease on this host still runs (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now_started = process_started(pid)
    return not (started and now_started and started != now_started)


def account_lease_name(account: str) -> str:
    return f"account:{account}"


def advisory_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a lease name other than the database's own."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class ProcessLeaseHolder:
    """Takes, renews and releases this process's lease on one engine."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str = LEASE_NAME,
        ttl: float = TTL_SECONDS,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.engine = engine
        self.name = name
        self.ttl = ttl
        self.heartbeat = heartbeat
        self.sqlite = engine.dialect.name == "sqlite"
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.holder = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self._pg_conn: Connection | None = None
        self.lost = asyncio.Event()

    # -- taking and releasing -------------------------------------------------------
    def acquire(self) -> None:
        """Take the lease or raise LeaseHeld naming the live holder."""
        url = self.engine.url.render_as_string(hide_password=True)
        now = datetime.now(UTC)
        if not self.sqlite:
            conn = self.engine.connect()
            got = self._pg_lock(conn)
            conn.commit()
            if got is not None:
                conn.close()
                raise LeaseHeld(self.current(got), url, self.ttl, got)
            self._pg_conn = conn
            with self.engine.begin() as tx:
                self._write(tx, now)
            return
        with self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                current = self._read(conn, self.name)
                if current is not None and current.holder != self.holder and self._still_held(current, now):
                    raise LeaseHeld(current, url, self.ttl, self.name)
                if current is not None:
                    logger.warning(
                        "lease: taking over from {} (pid {} on {}), last heartbeat {}",
                        current.holder,
                        current.pid,
                        current.host,
                        current.heartbeat_at,
                    )
                self._write(conn, now)
        logger.info("lease: this process ({}) owns the database", self.holder)

    def _pg_lock(self, conn: Connection) -> str | None:
        """Take this lease's advisory locks on `conn`; None, or the lease name of whoever holds one."""
        if self.name == LEASE_NAME:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar_one()
            return None if got else LEASE_NAME
        shared = conn.execute(text("SELECT pg_try_advisory_lock_shared(:k)"), {"k": PG_LOCK_KEY}).scalar_one()
        if not shared:
            return LEASE_NAME  # a single-account process holds the database
        own = conn.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(self.name)}
        ).scalar_one()
        if not own:
            conn.execute(text("SELECT pg_advisory_unlock_shared(:k)"), {"k": PG_LOCK_KEY})
            return self.name
        return None

    def release(self) -> None:
        with contextlib.suppress(Exception), self.engine.begin() as conn:
            conn.execute(delete(TABLE).where(TABLE.c.name == self.name, TABLE.c.holder == self.holder))
        if self._pg_conn is not None:
            with contextlib.suppress(Exception):
                self._pg_conn.execute(text("SELECT pg_advisory_unlock_all()"))
                self._pg_conn.commit()
            with contextlib.suppress(Exception):
                self._pg_conn.close()
            self._pg_conn = None

    def renew(self) -> bool:
        """Write the heartbeat; False if another process has taken the lease meanwhile."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(TABLE)
                .where(TABLE.c.name == self.name, TABLE.c.holder == self.holder)
                .values(heartbeat_at=datetime.now(UTC))
            )
        return bool(done.rowcount)

    async def keep(self) -> None:
        """Renew until cancelled; set `lost` (and stop) if the lease was taken over."""
        failures = 0
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                held = await asyncio.to_thread(self.renew)
            except Exception as exc:  # a locked database: the lease survives until the TTL
                failures += 1
                logger.warning("lease: heartbeat failed ({} in a row): {}", failures, exc)
                continue
            failures = 0
            if not held:
                logger.critical("lease: another process took over this database; stopping")
                self.lost.set()
                return

    # -- reading ----------------------------------------------------------------------
    def set_state(self, state: str) -> None:
        """Tell the other account processes this account is `online` or `logged_out`."""
        with self.engine.begin() as conn:
            conn.execute(
                update(TABLE)
                .where(TABLE.c.name == self.name, TABLE.c.holder == self.holder)
                .values(state=state)
            )

    def current(self, name: str | None = None) -> Holder | None:
        with self.engine.connect() as conn:
            return self._read(conn, name or self.name)

    @staticmethod
    def _read(conn: Connection, name: str = LEASE_NAME) -> Holder | None:
        row = conn.execute(select(TABLE).where(TABLE.c.name == name)).first()
        if row is None:
            return None
        return Holder(
            holder=row.holder,
            host=row.host,
            pid=row.pid,
            pid_started=row.pid_started,
            since=row.since,
            heartbeat_at=row.heartbeat_at,
        )

    def _still_held(self, current: Holder, now: datetime) -> bool:
        if current.host == self.host and not process_alive(current.pid, current.pid_started):
            return False
        return now - current.heartbeat_at < timedelta(seconds=self.ttl)

    def _write(self, conn: Connection, now: datetime) -> None:
        write_holder(conn, self.name, self.holder, now)


def write_holder(conn: Connection, name: str, holder: str, now: datetime) -> None:
    """Say in the `name` row that this process (`holder`) holds it since `now`, online."""
    pid = os.getpid()
    values = {
        "holder": holder,
        "host": socket.gethostname(),
        "pid": pid,
        "pid_started": process_started(pid),
        "since": now,
        "heartbeat_at": now,
        "state": "online",
    }
    done = conn.execute(update(TABLE).where(TABLE.c.name == name).values(**values))
    if not done.rowcount:
        conn.execute(insert(TABLE).values(name=name, **values))
