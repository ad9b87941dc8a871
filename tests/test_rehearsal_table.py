"""The rehearsal table says what each node did, against its effective time (issue 13 item 9)."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from bot.rehearsal import rehearse
from tests.commerce.selling_kit import campaign_text

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = """\
- {at: T-30m, line: "lily@团购一群: /campaign delay t1 15m"}
- {at: T+16m, line: "alice@团购一群: A1 2"}
- {at: T+17m, line: "bob@团购二群: A2 1"}
"""


async def test_a_deliberate_delay_is_on_time_and_a_silent_broadcast_says_so(tmp_path: Path) -> None:
    campaign = tmp_path / "t1.yaml"
    campaign.write_text(campaign_text(a1=2, a2=1), encoding="utf-8")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    result = await rehearse(
        campaign, load_config(ROOT / "config.yaml"), speed=3600, scenario=scenario, echo=lambda _: None
    )
    reports = {n.node_id: n for n in result.nodes}
    opening = reports["open"]
    assert opening.status == "on time" and opening.late_seconds is not None and opening.late_seconds < 1
    assert f"{opening.scheduled.astimezone(result.campaign.tz):%H:%M}" == "20:15"  # its effective time
    broadcast = reports["broadcast-T+30m"]
    assert broadcast.status == "quiet" and broadcast.result == "ran, nothing to post", broadcast
    assert reports["countdown-T-10m"].result.startswith("posted")
    assert result.all_on_time  # `tuanbot rehearse` exits 0
