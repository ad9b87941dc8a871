"""Relative openings (``opens_at: +2h``) count from the first load, persisted across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.campaign import CampaignError, parse_campaign
from bot.storage.anchors import get_or_create_anchor
from bot.storage.engine import init_db, make_engine

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
ANCHOR = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai
FIXED = (ROOT / "tests" / "fixtures" / "sample_fixed.yaml").read_text(encoding="utf-8")


def relative(opens: str, closes: str) -> str:
    return FIXED.replace("opens_at: 2026-12-05 20:00", f"opens_at: '{opens}'").replace(
        "closes_at: 2026-12-06 22:00", f"closes_at: '{closes}'"
    )


def test_plus_duration_counts_from_the_anchor_and_closing_from_opening() -> None:
    campaign = parse_campaign(relative("+2h", "T+26h"), anchor=ANCHOR)
    assert campaign.opens_at == ANCHOR + timedelta(hours=2)
    assert campaign.closes_at == ANCHOR + timedelta(hours=28)
    assert campaign.opens_at.tzinfo is not None


def test_plus_days_at_a_time_of_day_is_local_wall_clock() -> None:
    campaign = parse_campaign(relative("+1d 20:00", "+2d 22:00"), anchor=ANCHOR)
    assert campaign.opens_at == datetime(2026, 11, 2, 20, 0, tzinfo=SHANGHAI)
    assert campaign.closes_at == datetime(2026, 11, 3, 22, 0, tzinfo=SHANGHAI)


def test_anchor_function_is_asked_with_the_campaign_id_once_the_file_is_good() -> None:
    asked: list[str] = []

    def anchor(campaign_id: str) -> datetime:
        asked.append(campaign_id)
        return ANCHOR

    campaign = parse_campaign(relative("+15m", "T+1d"), anchor=anchor)
    assert asked == ["fruit-2026-12"] and campaign.opens_at == ANCHOR + timedelta(minutes=15)
    with pytest.raises(CampaignError):
        parse_campaign(relative("+15m", "T+1d").replace("stock: 200", "stock: -1"), anchor=anchor)
    assert asked == ["fruit-2026-12"]  # a broken file does not fix the anchor


def test_anchor_failure_is_a_campaign_error() -> None:
    def broken(campaign_id: str) -> datetime:
        raise RuntimeError("database is locked")

    with pytest.raises(CampaignError, match="first loaded"):
        parse_campaign(relative("+15m", "T+1d"), anchor=broken)


def test_anchor_is_persisted_by_the_first_load(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    init_db(engine)
    first = get_or_create_anchor(engine, "fruit", ANCHOR)
    later = get_or_create_anchor(engine, "fruit", ANCHOR + timedelta(days=3))
    assert first == later == ANCHOR
    assert get_or_create_anchor(engine, "other", ANCHOR + timedelta(days=3)) == ANCHOR + timedelta(days=3)


def test_date_without_time_suggests_adding_a_time() -> None:
    with pytest.raises(CampaignError) as info:
        parse_campaign(FIXED.replace("opens_at: 2026-12-05 20:00", "opens_at: 2026-12-05"))
    [problem] = [p for p in info.value.problems if p.field == "opens_at"]
    assert "add a time: '2026-12-05 20:00'" in problem.message
    assert "not allowed" not in problem.message
