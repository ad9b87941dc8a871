"""Acceptance 3: rehearsing the sample campaign with members ordering shows the whole selling arc."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from bot.campaign.runtime import CampaignRuntime
from bot.config import load_config
from bot.rehearsal import RehearsalResult, rehearse
from tests.rehearsal_kit import quiet_copy

ROOT = Path(__file__).resolve().parents[1]
_FAST: list[RehearsalResult] = []


async def rehearse_sample_orders() -> RehearsalResult:
    # The group-activity alerts are not what these tests are about (they are private to leaders),
    # and their every-minute checks are most of a rehearsal's time.
    with tempfile.TemporaryDirectory() as folder:
        campaign_file = quiet_copy(ROOT / "tests" / "fixtures" / "sample_fixed.yaml", Path(folder))
        return await rehearse(
            campaign_file,
            load_config(ROOT / "config.yaml"),
            speed=3600,
            scenario=ROOT / "data" / "scenarios" / "sample_orders.yaml",
            echo=lambda line: None,
        )


async def fast_run() -> RehearsalResult:
    """One undisturbed rehearsal shared by the tests below (it takes half a minute)."""
    if not _FAST:
        _FAST.append(await rehearse_sample_orders())
    return _FAST[0]


async def test_a_slow_machine_gives_the_same_transcript(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI once saw the T-0 post 31 minutes late: bot time ran on while an opening job was starting.

    Bot time now stands still while the bot works, so stalling every node job (a real
    wait, then a blocking one) changes nothing a member would see, not even pacing.
    """
    run_node = CampaignRuntime.run_node

    async def slow_run_node(self: CampaignRuntime, campaign_id: str, node_id: str) -> Any:
        await asyncio.sleep(0.3)
        time.sleep(0.05)
        return await run_node(self, campaign_id, node_id)

    monkeypatch.setattr(CampaignRuntime, "run_node", slow_run_node)
    slow = await rehearse_sample_orders()
    assert slow.transcript == (await fast_run()).transcript
    assert slow.all_on_time


async def test_rehearsal_shows_the_selling_arc() -> None:
    result = await fast_run()
    bot = [
        e for e in result.transcript if e["sender"] != "" and e["kind"] not in ("member", "member-private")
    ]
    g1 = [e for e in bot if e["group"] == "团购一群"]
    text = "\n".join(e["text"] for e in g1)

    def first(needle: str) -> int:
        return next(i for i, e in enumerate(g1) if needle in e["text"])

    # a too-early order, countdowns, opening with the first stock post, 接龙 lists, only-N-left,
    # sold out, results, thanks, preview, and a polite refusal after closing, in that order
    arc = ["还没开团", "倒计时", "开团啦", "限量供应",
           "接龙名单", "仅剩20件", "已售罄", "团购战绩", "感谢", "下周预告", "本次团购已结团"]  # fmt: skip
    positions = [first(needle) for needle in arc]
    assert positions == sorted(positions), list(zip(arc, positions))
    assert "1. 王阿姨 丹东99红颜草莓×2" in text and "李叔 丹东99红颜草莓×1" in text
    assert "只剩20件，已为你接龙20件" in "\n".join(e["text"] for e in bot if e["group"] == "团购二群")
    assert "已取消 A1×1" in text
    thanks = next(e["text"] for e in g1 if e["text"].startswith("🙏 感谢"))
    assert "王阿姨" in thanks and "老周" in thanks and "小陈" not in thanks  # carol cancelled everything
    private = [e for e in result.transcript if e["group"] == "" and "实时数据" in e["text"]]
    assert private  # /stats went privately to the leader
