"""Acceptance (issue 17, point 1): a rehearsal with a referral scenario.

5 members invite 14 newcomers (13 by joining with an inviter, one by carol's invite code); 9 of
them order; 2 of bob's leave within 24 h of joining; eve's burst of 5 holds 4 who never speak.
Exactly the qualifying invites are credited and paid, the ladder pays once (a second run of the
close hook pays nothing), the flagged invites are listed privately to the admins, and the final
leaderboard post matches the credited counts.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.app import App
from bot.campaign.nodes import NodeRun
from bot.config import load_config
from bot.rehearsal import rehearsal_config, rehearse
from bot.rehearsal_report import RehearsalResult
from handlers.coupons.tables import CouponRow
from handlers.points.ledger import points_of
from handlers.referral.closing import hook_close
from handlers.referral.tables import CREDITED, INVITES, PAYOUTS, PENDING
from tests.rehearsal_kit import quiet_copy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "sample_fixed.yaml"
SCENARIO = Path(__file__).with_name("scenario.yaml")
REWARD_COUPONS = """coupons:
  - id: invite_gift
    reward: true
    amount: 5.00
    valid_for: 7d
  - id: ladder3
    reward: true
    amount: 20.00
    valid_for: 30d
"""
REFERRAL = """
referral:
  inviter: {coupon: invite_gift, points: 50}
  invitee: {points: 20}
  ladders:
    - {invites: 3, coupon: ladder3}
    - {invites: 10, points: 500}
  board: {top: 5, every: 2h}
"""
CREDITED_INVITEES = {"amy", "bella", "cathy", "daisy", "ethan", "hana"}
HELD_INVITEES = {"felix", "gary", "nora"}
SILENT = {"jack", "kate", "liam", "mona"}
BOARD_ROW = re.compile(r"^\d+\. (\S+)  邀请 (\d+) 人$", re.MULTILINE)


def referral_campaign(folder: Path) -> Path:
    text = SAMPLE.read_text(encoding="utf-8").replace("coupons:\n", REWARD_COUPONS, 1) + REFERRAL
    source = folder / "referral-src" / SAMPLE.name
    source.parent.mkdir()
    source.write_text(text, encoding="utf-8")
    return quiet_copy(source, folder)


class Rehearsed:
    def __init__(self, result: RehearsalResult, campaign_file: Path) -> None:
        self.result = result
        self.transcript = result.transcript
        base = load_config(ROOT / "config.yaml")
        self.app = App.build(rehearsal_config(base, result.workdir, campaign_file))  # a restart
        self.engine = self.app.services.repo.engine
        self.campaign_id = result.campaign.id

    def invites(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return {r.member_id: r for r in conn.execute(select(INVITES)).all()}

    def payouts(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return sorted(
                (r[0], r[1]) for r in conn.execute(select(PAYOUTS.c.member_id, PAYOUTS.c.what)).all()
            )

    def reward_coupons(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(CouponRow).where(CouponRow.source == "referral")  # type: ignore[arg-type]
                ).scalar_one()
            )

    def privates_to(self, member_id: str) -> list[str]:
        return [e["text"] for e in self.transcript if not e["group"] and e["sender"] == f"→{member_id}"]


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsed]:
    folder = tmp_path_factory.mktemp("referral")
    campaign_file = referral_campaign(folder)
    base = load_config(ROOT / "config.yaml")
    result = asyncio.run(
        rehearse(campaign_file, base, speed=1e6, scenario=SCENARIO, echo=lambda line: None, keep_workdir=True)
    )
    try:
        yield Rehearsed(result, campaign_file)
    finally:
        shutil.rmtree(result.workdir, ignore_errors=True)


def test_exactly_the_qualifying_invites_are_credited_and_paid(rehearsed: Rehearsed) -> None:
    invites = rehearsed.invites()
    assert len(invites) == 14
    inviters = {m: r.by_id for m, r in invites.items()}
    assert inviters["hana"] == "carol" and invites["hana"].source == "code"
    assert {m for m, r in invites.items() if r.status == CREDITED} == CREDITED_INVITEES
    assert {m for m, r in invites.items() if r.status == "held"} == HELD_INVITEES
    assert {m for m, r in invites.items() if r.status == "lapsed"} == SILENT | {"ivan"}
    assert invites["felix"].reasons == "left_early" and invites["nora"].reasons == "silent_burst"
    assert all(invites[m].reasons == "silent_burst" for m in SILENT) and invites["ivan"].reasons == ""

    ledger = points_of(rehearsed.app.services)
    paid_points = ledger.awarded("referral", rehearsed.campaign_id)
    assert paid_points == {
        "alice": 4 * 50,
        "bob": 50,
        "carol": 50,
        **{m: 20 for m in CREDITED_INVITEES},
    }
    ladders = [p for p in rehearsed.payouts() if p[1].startswith("ladder:")]
    assert ladders == [("alice", "ladder:3")]  # 4 credited: the 3-rung once, not the 10-rung
    assert rehearsed.reward_coupons() == 6 + 1  # one invite_gift per credited invite, one ladder3


def test_the_flagged_invites_are_listed_privately_to_the_admins(rehearsed: Rehearsed) -> None:
    invites = rehearsed.invites()
    [notice] = [t for t in rehearsed.privates_to("admin") if "推荐有礼风控" in t]
    held_part, _, silent_part = notice.partition("未下单")
    for member in HELD_INVITEES:
        assert f"#{invites[member].id} " in held_part
    for member in SILENT:
        assert f"#{invites[member].id} " in silent_part
    for member in CREDITED_INVITEES | {"ivan"}:
        assert f"#{invites[member].id} " not in notice
    assert "24 小时内退群" in held_part and "从不发言" in notice
    assert "艾米" not in notice and "felix" not in notice  # names and ids masked even for the admins
    groups = [e["text"] for e in rehearsed.transcript if e["group"]]
    assert not any("风控" in t for t in groups)


def test_the_final_leaderboard_post_matches_the_credited_counts(rehearsed: Rehearsed) -> None:
    [final] = [e for e in rehearsed.transcript if e["kind"] == "referral_board"]
    assert final["group"] == "团购一群"
    posted = {name: int(n) for name, n in BOARD_ROW.findall(final["text"])}
    assert posted == {"王**": 4, "李*": 1, "小*": 1}  # alice, bob, carol; nothing for dave or eve
    credited: dict[str, int] = {}
    for r in rehearsed.invites().values():
        if r.status == CREDITED:
            credited[r.by_id] = credited.get(r.by_id, 0) + 1
    assert sorted(posted.values(), reverse=True) == sorted(credited.values(), reverse=True)
    for name in ("王阿姨", "李叔", "小陈", "艾米"):
        assert name not in final["text"]
    progress = [e for e in rehearsed.transcript if e["kind"] == "referral_progress"]
    assert progress, "the board was posted during the campaign"
    asked = [e for e in rehearsed.transcript if e["kind"] == "referral_ask"]
    assert asked and BOARD_ROW.findall(asked[0]["text"]) == BOARD_ROW.findall(final["text"])


def test_running_the_close_hook_again_after_a_restart_pays_nothing_twice(rehearsed: Rehearsed) -> None:
    before = rehearsed.payouts()
    ledger = points_of(rehearsed.app.services)
    points_before = ledger.awarded("referral", rehearsed.campaign_id)
    coupons_before = rehearsed.reward_coupons()
    registry = rehearsed.app.services.campaigns
    registry.load_all()
    loaded = registry.campaigns[rehearsed.campaign_id]
    close = next(n for n in loaded.nodes if n.kind == "close")
    opens, closes = registry.effective_times(rehearsed.campaign_id)
    with rehearsed.engine.begin() as conn:
        # the worst case: the decisions undone, the hook run again on the same close
        conn.execute(update(INVITES).where(INVITES.c.status == CREDITED).values(status=PENDING))
        run = NodeRun(
            loaded.campaign,
            close,
            "团购一群",
            rehearsed.app.services,
            closes,
            closes,
            opens,
            closes,
            conn=conn,
        )
        hook_close(run, conn)
    assert rehearsed.payouts() == before
    assert ledger.awarded("referral", rehearsed.campaign_id) == points_before
    assert rehearsed.reward_coupons() == coupons_before
    assert {m for m, r in rehearsed.invites().items() if r.status == CREDITED} == CREDITED_INVITEES
