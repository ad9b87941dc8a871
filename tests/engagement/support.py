"""Helpers for engagement tests: an app with the sample campaign loaded on the fake clock."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import App
from bot.campaign.runtime import CampaignRuntime
from bot.events import GroupMessage
from bot.startup import install_features
from tests.factories import group_message
from tests.fakes import FakeClock, FakeTransport

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sample_fixed.yaml"
CAMPAIGN_ID = "fruit-2026-12"
OPENS_AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # 20:00 Asia/Shanghai
CLOSES_AT = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
GROUP = "团购一群"


def with_campaign(app: App, tmp_path: Path, text: str | None = None) -> CampaignRuntime:
    """Install the campaign registry (no persistent jobs, no watcher) and load the sample (or `text`)."""
    registry = install_features(app, persistent_jobs=False, watch=False)
    folder = tmp_path / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sample.yaml"
    if text is None:
        shutil.copy(SAMPLE, path)
    else:
        path.write_text(text, encoding="utf-8")
    problems = registry.load_file(path)
    assert not problems, problems
    return registry


def say(clock: FakeClock, text: str, sender: str = "alice", **kwargs: Any) -> GroupMessage:
    addressed = kwargs.pop("mentions_bot", False)
    msg = group_message(text, sender, at=clock.now(), **kwargs)
    return dataclasses.replace(msg, mentions_bot=addressed) if addressed else msg


def texts_since(transport: FakeTransport, start: int, group: str = GROUP) -> list[str]:
    return [m.text for m in transport.sent[start:] if m.group_id == group]
