"""Acceptance (issue 16, point 3): moderation rehearsed on the shipped sample.

`data/scenarios/moderation.yaml` posts spam links and cards, a flood, banned words and a mass-@;
the ladder answers (warnings, a group mention, the leaders' alerts), lily removes the spammer with
/kick through the rehearsal's transport, mike mutes a flooder, and /modlog lists it all. lily
posts links too and is never moderated. One rehearsal; each test reads it from a different side.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import load_config
from bot.rehearsal import rehearse
from bot.rehearsal_report import RehearsalResult
from bot.storage.engine import make_engine
from handlers.moderation.audit import TABLE
from tests.rehearsal_kit import quiet_copy

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "sample_fixed.yaml"
SCENARIO = ROOT / "data" / "scenarios" / "moderation.yaml"


class Rehearsed:
    def __init__(self, result: RehearsalResult) -> None:
        self.result = result
        self.transcript = result.transcript
        engine = make_engine(f"sqlite:///{result.workdir / 'rehearsal.db'}")
        with engine.connect() as conn:
            self.actions = [
                (r.group_id, r.member_id, r.action, r.rule, r.by_id)
                for r in conn.execute(select(TABLE).order_by(TABLE.c.id)).all()
            ]
        engine.dispose()

    def privates_to(self, member_id: str) -> list[str]:
        return [e["text"] for e in self.transcript if not e["group"] and e["sender"] == f"→{member_id}"]

    def bot_posts(self, group: str) -> list[dict[str, Any]]:
        return [
            e for e in self.transcript if e["group"] == group and e["kind"] not in ("member", "join", "leave")
        ]


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsed]:
    folder = tmp_path_factory.mktemp("moderation")
    campaign_file = quiet_copy(SAMPLE, folder)
    base = load_config(ROOT / "config.yaml")
    result = asyncio.run(
        rehearse(campaign_file, base, speed=1e6, scenario=SCENARIO, echo=lambda line: None, keep_workdir=True)
    )
    try:
        yield Rehearsed(result)
    finally:
        shutil.rmtree(result.workdir, ignore_errors=True)


def test_the_ladder_warns_mentions_then_alerts_the_leader(rehearsed: Rehearsed) -> None:
    spam = [(a[2], a[3]) for a in rehearsed.actions if a[1] == "spammer"]
    assert spam[:3] == [("warn", "link"), ("mention", "qr"), ("alert", "mini_program")]
    [warning] = rehearsed.privates_to("spammer")
    assert "发链接" in warning and "第一次提醒" in warning
    [mention] = [e for e in rehearsed.bot_posts("团购一群") if "第 2 次提醒" in e["text"]]
    assert "二维码" in mention["text"] and "spam.example" not in mention["text"]
    [alert] = [t for t in rehearsed.privates_to("lily") if "群管提醒" in t]
    assert "/mute @spammer 1h" in alert and "/kick @spammer" in alert
    assert "138****5678" in alert and "13812345678" not in alert


def test_the_leaders_kick_goes_through_the_transport_and_is_logged(rehearsed: Rehearsed) -> None:
    [removal] = [e for e in rehearsed.transcript if e["kind"] == "removal"]
    assert removal["group"] == "团购一群" and "spammer" in removal["text"]
    assert ("团购一群", "spammer", "kick", "", "lily") in rehearsed.actions
    assert any("已将" in t and "spammer" in t for t in rehearsed.privates_to("lily"))


def test_flood_banned_words_and_mass_mention_climb_noisys_ladder(rehearsed: Rehearsed) -> None:
    noisy = [(a[2], a[3]) for a in rehearsed.actions if a[1] == "noisy"]
    assert noisy[:3] == [("warn", "flood"), ("mention", "banned_word"), ("alert", "mass_mention")]
    assert ("团购二群", "noisy", "mute", "", "mike") in rehearsed.actions
    assert any("群管提醒" in t and "noisy" in t for t in rehearsed.privates_to("mike"))
    assert ("团购一群", "gambler", "warn", "banned_word", "") in rehearsed.actions
    # muted: noisy's order at T+10m is not taken (no confirmation of it anywhere)
    assert not any("阿强" in e["text"] for e in rehearsed.bot_posts("团购二群"))


def test_leaders_posting_links_are_never_moderated(rehearsed: Rehearsed) -> None:
    assert not [a for a in rehearsed.actions if a[1] in ("lily", "mike") and a[4] == ""]
    assert rehearsed.privates_to("lily")  # lily got alerts and confirmations, never a warning
    assert not any("第一次提醒" in t for t in rehearsed.privates_to("lily"))
    posted = [e["text"] for e in rehearsed.transcript if e["kind"] == "member" and e["sender"] == "团长Lily"]
    assert any(t.startswith("[链接]") for t in posted)


def test_modlog_lists_the_audit_log_privately(rehearsed: Rehearsed) -> None:
    [log] = [t for t in rehearsed.privates_to("lily") if t.startswith("群管记录")]
    for word in ("spammer", "移出", "私聊警告", "群内提醒", "通知团长", "gambler"):
        assert word in log, word
    assert "noisy" not in log  # 团购二群 is mike's, not lily's
    assert not any(t.startswith("群管记录") for t in (e["text"] for e in rehearsed.transcript if e["group"]))


def test_the_rehearsal_still_runs_the_campaign_on_time(rehearsed: Rehearsed) -> None:
    assert rehearsed.result.all_on_time
