"""Acceptance (issue 13, money): rehearsing the sample redeems every coupon and red-packet credit
its buyers hold, and the results posts show gross, discounts and net that match the report to the fen."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlmodel import col

from bot.app import App
from bot.config import load_config
from bot.rehearsal import rehearsal_config, rehearse
from handlers.coupons.tables import CouponRow
from handlers.monitoring.report import build_report
from handlers.selling.perks import MemberPerks
from handlers.selling.store import OrderStore
from tests.rehearsal_kit import quiet_copy

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "sample_fixed.yaml"  # the shipped sample, at fixed dates
SCENARIO = ROOT / "data" / "scenarios" / "sample.yaml"
MONEY = re.compile(
    r"成交额 ¥(?P<gross>\d+\.\d\d)\n　优惠 -¥(?P<discount>\d+\.\d\d)（满减 -¥(?P<tier>\d+\.\d\d)，"
    r"优惠券 -¥(?P<coupon>\d+\.\d\d)，红包抵扣 -¥(?P<credit>\d+\.\d\d)），实付 ¥(?P<net>\d+\.\d\d)"
)


def fen(text: str) -> int:
    return round(float(text) * 100)


async def test_sample_rehearsal_redeems_every_coupon_and_results_match_the_report(tmp_path: Path) -> None:
    # Group monitoring is not what this test is about, and its every-minute checks slow a rehearsal.
    campaign_file = quiet_copy(SAMPLE, tmp_path)
    base = load_config(ROOT / "config.yaml")
    shown: list[str] = []
    result = await rehearse(
        campaign_file, base, speed=3600, scenario=SCENARIO, echo=shown.append, keep_workdir=True
    )
    # Silent timers overnight read as one skip to the next thing said, not a line each (session 38).
    skips = [n for n, line in enumerate(shown) if line.startswith("⏩")]
    assert skips and not [n for n in skips if n + 1 in skips], [shown[n] for n in skips]
    try:
        campaign_id = result.campaign.id
        app = App.build(rehearsal_config(base, result.workdir, campaign_file))
        engine = app.services.repo.engine
        orders = OrderStore(engine).orders(campaign_id)
        buyers = {o.member_id for o in orders}
        assert {"alice", "bob", "dave"} <= buyers
        with engine.connect() as conn:
            held = conn.execute(
                select(
                    CouponRow.member_id, CouponRow.coupon_id, CouponRow.status, CouponRow.consumed_ref
                ).where(
                    col(CouponRow.member_id).in_(buyers),
                    col(CouponRow.campaign_id).in_([campaign_id, ""]),
                )
            ).all()
        alice = {(r.coupon_id.split(":")[0], r.status) for r in held if r.member_id == "alice"}
        assert ("strawberry", "consumed") in alice and ("redpacket", "consumed") in alice
        unredeemed = [tuple(r) for r in held if r.status != "consumed"]
        assert unredeemed == [], "coupons and credit buyers hold but close did not redeem"
        assert {r.consumed_ref for r in held} <= {f"campaign:{campaign_id}"}

        registry = app.services.campaigns
        registry.load_all()
        loaded = registry.campaigns[campaign_id]
        groups = registry.groups_of(loaded.campaign)
        report = build_report(
            engine,
            campaign_id,
            groups,
            {g: app.services.repo.group_name(g) for g in groups},
            loaded.nodes[0].fire_at,
            registry.effective_times(campaign_id)[1],
            tiers=loaded.campaign.spend_tiers,
            # As `tuanbot report` prices: with the tiers' member discount (a close promotes buyers
            # to a discount tier right after pricing them; the report must not discount them).
            perks=app.services.find(MemberPerks),  # type: ignore[type-abstract]
        )
        rows = {row.group: row for row in report.rows}
        results = {
            e["group"]: e["text"]
            for e in result.transcript
            if e["kind"] == "close" and "团购战绩" in e["text"]
        }
        assert set(results) == set(rows)
        for group, text in results.items():
            found = MONEY.search(text)
            assert found, text
            posted = {k: fen(v) for k, v in found.groupdict().items()}
            row = rows[group]
            reported = {
                "gross": row.gmv_yuan,
                "discount": row.discount_yuan,
                "tier": row.tier_off_yuan,
                "coupon": row.coupon_off_yuan,
                "credit": row.credit_off_yuan,
                "net": row.net_yuan,
            }
            assert posted == {k: round(v * 100) for k, v in reported.items()}, group
            assert posted["gross"] - posted["tier"] - posted["coupon"] - posted["credit"] == posted["net"]
            assert posted["discount"] == posted["tier"] + posted["coupon"] + posted["credit"]
        g1 = rows["团购一群"]
        assert g1.coupon_off_yuan >= 8 and g1.credit_off_yuan > 0  # alice's 草莓券 and her red packet
    finally:
        shutil.rmtree(result.workdir, ignore_errors=True)
