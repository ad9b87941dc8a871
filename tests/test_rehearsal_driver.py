"""How the rehearsal driver behaves when the bot misbehaves."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import bot.rehearsal as rehearsal
from bot.campaign.runtime import CampaignRuntime
from bot.config import load_config

ROOT = Path(__file__).resolve().parents[1]


async def test_a_hung_job_stops_the_rehearsal_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    async def hung_run_node(self: CampaignRuntime, campaign_id: str, node_id: str) -> Any:
        await asyncio.Event().wait()

    monkeypatch.setattr(CampaignRuntime, "run_node", hung_run_node)
    monkeypatch.setattr(rehearsal, "SETTLE_TIMEOUT_SECONDS", 0.5)
    with pytest.raises(rehearsal.RehearsalStuck) as stuck:
        await rehearsal.rehearse(
            ROOT / "tests" / "fixtures" / "sample_fixed.yaml",
            load_config(ROOT / "config.yaml"),
            echo=lambda _: None,
        )
    message = str(stuck.value)
    assert "12-02 20:00:00" in message and "campaign:fruit-2026-12:preheat-T-3d" in message
