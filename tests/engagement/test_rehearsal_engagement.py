"""The sample campaign's rehearsal shows welcomes, a coupon claim, a red-packet burst and an FAQ answer."""

from __future__ import annotations

from pathlib import Path

from bot.rehearsal import rehearse
from tests.conftest import make_config
from tests.engagement.support import SAMPLE
from tests.rehearsal_kit import quiet_copy

SCENARIO = """\
- at: T-1d
  line:
    - "+newbie1(小美)@团购一群 by lily"
    - "+newbie2(阿强)@团购一群"
- at: T-1d1m
  line: "alice(爱丽丝)@团购一群: 草莓券"
- at: T-9m50s
  line:
    - "alice(爱丽丝)@团购一群: 抢"
    - "bob(小波)@团购一群: 抢"
    - "carol(卡罗)@团购一群: 抢"
- at: T-8m
  line: "dave(大卫)@团购一群: 请问明天几点可以去取货？"
"""


async def test_rehearsal_transcript_shows_engagement(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    # The sample's own 60 s grab window: rehearsal time stands still while the bot works, so
    # three grabs at T-9m50s land inside it at any speed. Group monitoring is not what this
    # test is about, and its every-minute checks cost half a minute of a rehearsal.
    campaign = quiet_copy(SAMPLE, tmp_path)
    lines: list[str] = []
    result = await rehearse(campaign, make_config(tmp_path), speed=1800, scenario=scenario, echo=lines.append)
    bot = [e["text"] for e in result.transcript if e["group"] == "团购一群" and e["kind"] != "member"]
    bot = [t for t in bot if t != "加入了群聊"]
    assert any("欢迎 小美、阿强" in t and "新人礼包" in t and "感谢 lily" in t for t in bot), bot
    assert any("爱丽丝 领到了满¥50.00减¥8.00" in t for t in bot), bot
    trace = [(e["t"], e["kind"], e["text"][:30]) for e in result.transcript if e["group"] == "团购一群"]
    results = next((t for t in bot if "红包雨结束" in t), str(trace))
    assert "爱丽丝" in results and "小波" in results and "卡罗" in results and "手气最佳" in results
    assert any("东门菜鸟驿站" in t for t in bot), bot
    assert all(n.status != "never ran" for n in result.nodes)
