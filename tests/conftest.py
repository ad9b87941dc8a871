"""Shared fixtures: each test gets its own SQLite file and a real app on a fake clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.app import App
from bot.config import Config, parse_config
from tests.fakes import FakeClock, FakeTransport


def make_config(tmp_path: Path, **overrides: Any) -> Config:
    data: dict[str, Any] = {
        "admins": ["admin"],
        "groups": {
            "团购一群": {"name": "团购一群", "leaders": ["lily"]},
            "团购二群": {"name": "团购二群", "leaders": ["mike"]},
        },
        "database": {"url": f"sqlite:///{tmp_path / 'tuanbot.db'}"},
        "campaigns_dir": str(tmp_path / "campaigns"),
        "logging": {"file": str(tmp_path / "logs" / "tuanbot.log")},
    }
    data.update(overrides)
    return parse_config(data, base_dir=str(tmp_path))


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
