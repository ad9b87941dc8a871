"""The points figures of a campaign: earned by reason, redeemed, in all groups or some."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.storage.engine import init_db, make_engine
from handlers.points.figures import figures
from handlers.points.ledger import PointsLedger
from handlers.points.redeem import choose, settle_member
from handlers.points.tables import BALANCES, CHECKINS, LEDGER, REDEMPTIONS
from handlers.selling.pricing import Quote

NOW = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    init_db(made, [LEDGER, BALANCES, CHECKINS, REDEMPTIONS])
    yield made
    made.dispose()


def test_figures_count_the_campaigns_credits_by_reason_and_its_redemptions(engine: Engine) -> None:
    ledger = PointsLedger(engine)
    ledger.credit("alice", 30, "order", "t1@g1", now=NOW, campaign_id="t1", group_id="g1")
    ledger.credit("bob", 12, "order", "t1@g2", now=NOW, campaign_id="t1", group_id="g2")
    ledger.credit("bob", 50, "showoff", "t1", now=NOW, campaign_id="t1", group_id="g2")
    ledger.credit("alice", 5, "checkin", "2026-12-05", now=NOW, group_id="g1")  # a day's, not t1's
    ledger.credit("carol", 99, "order", "t2@g1", now=NOW, campaign_id="t2", group_id="g1")  # another sale
    choose(engine, "alice", "t1", True, NOW)
    with engine.begin() as conn:
        quote = Quote((), 2_000, points_used=25, points_off_cents=25)
        assert settle_member(conn, ledger, "alice", "t1", "g1", quote, 100, NOW) == 25
    assert figures(engine, "t1", None) == {
        "points_earned": 92,
        "points_earned_order": 42,
        "points_earned_showoff": 50,
        "points_redeemed": 25,
        "redeem_members": 1,
        "redeem_off_cents": 25,
    }
    assert figures(engine, "t1", ["g2"]) == {
        "points_earned": 62,
        "points_earned_order": 12,
        "points_earned_showoff": 50,
        "points_redeemed": 0,
        "redeem_members": 0,
        "redeem_off_cents": 0,
    }
    assert figures(engine, "none", None) == {
        "points_earned": 0,
        "points_redeemed": 0,
        "redeem_members": 0,
        "redeem_off_cents": 0,
    }
