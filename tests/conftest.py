"""Shared fixtures: each test gets its own SQLite file and a real app on a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from bot import event_loop
from bot.app import App
from bot.config import Config, parse_config
from tests.fakes import FakeClock, FakeTransport

# The shipped config.yaml turns the web board on; tests (and the `tuanbot run` processes they
# start) leave it off unless a board test turns it on, so parallel runs never fight for a port.
os.environ.setdefault("TUANBOT_WEB_ENABLED", "false")


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Async tests run on the loop the bot runs on (bot/event_loop.py): uvloop where installed."""
    return {event_loop.available(): event_loop.loop_factory() or asyncio.new_event_loop}


@pytest.fixture(scope="session", autouse=True)
def _temp_files_under_pytest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Temporary folders this process makes (rehearsals a test keeps to read their database) go
    under the session's own base folder, which pytest rotates: /tmp does not fill up over a day of
    runs, and another pytest session never deletes them while this one still reads them."""
    before = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tmp"))
    yield
    tempfile.tempdir = before


def make_config(tmp_path: Path, db_url: str | None = None, **overrides: Any) -> Config:
    data: dict[str, Any] = {
        "admins": ["admin"],
        "groups": {
            "团购一群": {"name": "团购一群", "leaders": ["lily"]},
            "团购二群": {"name": "团购二群", "leaders": ["mike"]},
        },
        "database": {"url": db_url or f"sqlite:///{tmp_path / 'tuanbot.db'}"},
        "campaigns_dir": str(tmp_path / "campaigns"),
        "logging": {"file": str(tmp_path / "logs" / "tuanbot.log")},
    }
    data.update(overrides)
    return parse_config(data, base_dir=str(tmp_path))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real PostgreSQL server for the session, from the `pgserver` wheel (no apt, no root setup).

    Set TUANBOT_PG_URL to use an existing server instead (its database must allow CREATE DATABASE).
    """
    if os.environ.get("TUANBOT_PG_URL"):
        yield None
        return
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server
    server.cleanup()


_pg_databases = itertools.count(1)


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A fresh, empty PostgreSQL database for this test."""
    base = os.environ.get("TUANBOT_PG_URL") or pg_server.get_uri()
    base = base.replace("postgresql://", "postgresql+psycopg2://", 1)
    name = f"t{os.getpid()}_{next(_pg_databases)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    head, _, query = base.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a storage test on SQLite and again on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tuanbot.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


AppFactory = Callable[..., tuple[App, FakeTransport]]


@pytest.fixture
def make_app(config: Config, clock: FakeClock) -> AppFactory:
    """Build (or rebuild, as after a restart) an app on the test's database."""

    def build(
        features: list[ModuleType] | None = None, cfg: Config | None = None
    ) -> tuple[App, FakeTransport]:
        app = App.build(cfg or config, clock=clock, features=features, rng=random.Random(7))
        return app, FakeTransport(app, clock)

    return build


@pytest.fixture
def app(make_app: AppFactory) -> tuple[App, FakeTransport]:
    return make_app()
