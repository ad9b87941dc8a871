"""Codes are unique within a campaign: drawn fresh on a collision, the unique key behind it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from handlers.fulfilment.codes import codes_for
from handlers.fulfilment.pickup_close import issue_codes
from handlers.fulfilment.pickup_tables import CODES
from tests.commerce.selling_kit import build_shop
from tests.fakes import FakeClock

NOW = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)


def test_thousands_of_buyers_get_distinct_codes(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    campaign = shop.registry.campaigns["t1"].campaign
    engine = shop.app.services.repo.engine
    buyers = [f"m{i}" for i in range(3000)]
    with engine.begin() as conn:
        issued = issue_codes(conn, campaign, buyers, NOW)
    with engine.begin() as conn:
        assert issue_codes(conn, campaign, buyers, NOW) == []  # everyone holds one already
    stored = codes_for(engine, "t1")
    assert len(issued) == len(stored) == 3000
    assert len({c.code for c in stored.values()}) == 3000


def test_a_drawn_collision_is_drawn_again(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    campaign = shop.registry.campaigns["t1"].campaign
    engine = shop.app.services.repo.engine
    draws = iter(["K7Q3", "K7Q3", "K7Q3", "M8R4"])
    with engine.begin() as conn:
        issue_codes(conn, campaign, ["a", "b"], NOW, lambda: next(draws))
    assert {m: c.code for m, c in codes_for(engine, "t1").items()} == {"a": "K7Q3", "b": "M8R4"}


def test_the_unique_keys_back_it_up(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, db_url=db_url)
    engine = shop.app.services.repo.engine
    row = {"campaign_id": "t1", "member_id": "a", "point": "", "code": "K7Q3", "issued_at": NOW}
    with engine.begin() as conn:
        conn.execute(insert(CODES).values(**row))
    for clash in ({"member_id": "b"}, {"code": "M8R4"}):  # same code, or a second code for a
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(CODES).values(**(row | clash)))
    with engine.begin() as conn:  # the same code in another campaign is fine
        conn.execute(insert(CODES).values(**(row | {"campaign_id": "t2"})))
