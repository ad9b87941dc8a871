"""Engine creation for SQLite (default) and PostgreSQL.

SQLite gets WAL mode (readers never block the single writer), a busy timeout so
a brief lock waits instead of failing, and foreign keys on. Engines are built
on request, never at import time.

On SQLite the driver's own transaction handling is switched off and we begin
transactions ourselves, as SQLAlchemy documents for pysqlite. Left to itself,
pysqlite sends no BEGIN before a SAVEPOINT, so the SAVEPOINT starts the
transaction and its RELEASE commits it: a timeline claim made in
``begin_nested()`` committed alone, ahead of the posts it guards (issue 12).

When to begin keeps what was good in pysqlite's habit: reads run outside a
transaction (WAL readers never wait and hold no snapshot), and the first
statement that writes (or a SAVEPOINT) is preceded by ``BEGIN IMMEDIATE``, which
takes the write lock up front and waits for it up to the busy timeout. A
DEFERRED transaction that read first could not be upgraded once another
connection committed ("database is locked" at once), and the bot writes from
several threads (the order writer, monitoring, the scheduler). A connection that
must read under the lock (the order writer's limit checks) asks for the BEGIN at
once with the execution option ``sqlite_begin="IMMEDIATE"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel, create_engine

from bot.storage import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.storage.write_lock import TimedConnection, WriteGate, begin_polling, engine_gate

SQLITE_BEGIN_OPTION = "sqlite_begin"
SQLITE_BEGIN_MODES = {"", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"}
# Statements that write (or open a savepoint), so a transaction must have begun before them.
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER", "WITH")


_UPSERT_INSERTS: dict[str, Any] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def upsert_insert(bind: Engine | Connection) -> Any:
    """The dialect's `insert` that knows ON CONFLICT (`on_conflict_do_nothing` / `_do_update`):
    SQLite's or PostgreSQL's, the two databases the bot runs on."""
    name = bind.dialect.name
    make = _UPSERT_INSERTS.get(name)
    if make is None:
        raise ValueError(f"no upsert for database dialect {name!r}")
    return make


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# Connections a SQLite file's engine keeps open: one for each thread that uses it (the loop's
# executor, the background reads, the order writer, the write-behind writers, the board), with
# room to spare. SQLAlchemy's default keeps 5 and closes the rest on return: through a flood ~4
# connections a second were closed and reopened, each re-running the pragmas and the schema parse.
SQLITE_POOL_SIZE = 16


def make_engine(url: str, *, busy_timeout_ms: int = 5000, synchronous: str = "NORMAL") -> Engine:
    """Create an engine, preparing the SQLite file's folder and pragmas."""
    if is_sqlite(url):
        path = url.split(":///", 1)[-1]
        pool: dict[str, Any] = {}  # a memory database has one connection (a singleton pool)
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pool = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_SIZE}
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": busy_timeout_ms / 1000,
                "factory": TimedConnection,
            },
            **pool,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # We emit BEGIN ourselves (below); the driver must not begin or commit behind our back.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            if isinstance(dbapi_conn, TimedConnection):  # a test may connect through its own class
                dbapi_conn.busy_timeout = int(busy_timeout_ms)
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_now_if_asked(conn: Connection) -> None:
            mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION)
            if mode is None:
                return  # begun lazily, before the first write (below)
            if mode not in SQLITE_BEGIN_MODES:
                raise ValueError(f"{SQLITE_BEGIN_OPTION} must be one of {sorted(SQLITE_BEGIN_MODES)}")
            conn.exec_driver_sql(f"BEGIN {mode}".rstrip())

        @event.listens_for(engine, "before_cursor_execute")
        def _begin_before_first_write(
            conn: Connection, cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
        ) -> None:
            if (
                statement.lstrip()[:9].upper().startswith(_WRITE_VERBS)
                and conn.in_transaction()
                and not cursor.connection.in_transaction
            ):
                begin_polling(cursor.connection, gate)  # not the busy handler's up-to-100 ms naps

        gate = engine_gate(engine)
        if gate is not None:
            _release_gate_at_transaction_end(engine, gate)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _release_gate_at_transaction_end(engine: Engine, gate: WriteGate) -> None:
    """The gate goes back when the connection's transaction ends, however it ends."""

    def release(conn: Connection) -> None:
        gate.release(conn.connection.driver_connection)

    def release_raw(dbapi_conn: Any, *_: Any) -> None:
        gate.release(dbapi_conn)

    event.listen(engine, "commit", release)
    event.listen(engine, "rollback", release)
    for pool_event in ("reset", "checkin", "close", "invalidate"):
        event.listen(engine.pool, pool_event, release_raw)


def init_db(engine: Engine, only: list[Table] | None = None) -> None:
    """Create missing tables (all registered ones, or `only` those); existing data is kept.

    Storage knows no feature: `bot.schema.create_schema` passes the full list.
    """
    SQLModel.metadata.create_all(engine, tables=only)


@contextmanager
def connected(source: Engine | Connection) -> Iterator[Connection]:
    """`source` itself when it is a connection (a caller's transaction, whose writes the read must
    see), else a fresh connection of the engine, closed afterwards."""
    if isinstance(source, Connection):
        yield source
        return
    with source.connect() as own:
        yield own
