"""Several account processes' first start on one empty PostgreSQL: each starts the job store.

APScheduler's SQLAlchemy job store makes its table when it starts (CREATE TABLE, checked first
but not under any lock). Three processes doing that at once collided in PostgreSQL's catalogue
(`pg_type_typname_nsp_index`), and the loser stopped before it was ready (CI, three-account
test: "a2 not ready after its first start"). The schema, made under its lock before the
scheduler starts, now holds the store's table too.
"""

from __future__ import annotations

import threading

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from bot.schema import create_schema
from bot.storage.engine import make_engine
from schedules.jobs import JOBS_TABLE, PassBatchedJobStore
from tests.together import failures_together

pytestmark = pytest.mark.postgres

PROCESSES = 6
ROUNDS = 3


def _start_all_at_once(engines: list[Engine]) -> list[BaseException]:
    schemas_made = threading.Barrier(len(engines))

    def boot(engine: Engine) -> None:  # what a process does at start: the schema, then the scheduler
        store = PassBatchedJobStore(engine=engine, tablename=JOBS_TABLE)
        create_schema(engine)  # serialised by the schema lock
        schemas_made.wait()  # the processes leave the lock close together: the worst case
        store.start(AsyncIOScheduler(), "default")

    return failures_together(boot, engines)


def test_processes_starting_at_once_on_an_empty_database_all_start_their_job_store(pg_url: str) -> None:
    engines = [make_engine(pg_url) for _ in range(PROCESSES)]
    for _ in range(ROUNDS):  # the collision is a race: give it several fresh chances
        with engines[0].begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {JOBS_TABLE}")
        failures = _start_all_at_once(engines)
        assert failures == [], f"{len(failures)} of {PROCESSES} stores failed to start: {failures[0]!r:.300}"
        assert JOBS_TABLE in inspect(engines[0]).get_table_names()
    for engine in engines:
        engine.dispose()
