"""What the database decides, under concurrency, on SQLite and PostgreSQL: a member is someone's
invitee once, has one invite code, and every reward key is paid once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.schema import create_schema
from bot.storage.engine import make_engine
from bot.storage.tables import Membership
from handlers.points.ledger import PointsLedger
from handlers.referral.payout import Reward, pay_one
from handlers.referral.store import ReferralStore
from handlers.referral.tables import INVITES

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
THREADS = 8


def store_on(db_url: str) -> ReferralStore:
    engine = make_engine(db_url)
    create_schema(engine)
    return ReferralStore(engine)


def test_one_invite_per_member_whichever_join_lands_first(db_url: str) -> None:
    store = store_on(db_url)
    groups = [f"g{i}" for i in range(THREADS)]
    with store.engine.begin() as conn:  # the bookkeeping: nina joined all of them at this instant
        for g in groups:
            conn.execute(
                Membership.__table__.insert().values(  # type: ignore[attr-defined]
                    group_id=g, member_id="nina", first_seen_at=NOW, joined_at=NOW
                )
            )
    with ThreadPoolExecutor(THREADS) as pool:
        done = list(
            pool.map(lambda g: store.record_join("t1", g, "nina", "妮娜", f"by-{g}", "", NOW), groups)
        )
    assert len([d for d in done if d is not None]) == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(INVITES)).scalar_one() == 1


def test_one_code_per_member_asked_at_once(db_url: str) -> None:
    store = store_on(db_url)
    with ThreadPoolExecutor(THREADS) as pool:
        codes = set(pool.map(lambda _: store.code_of("alice", NOW), range(THREADS)))
    assert len(codes) == 1
    assert store.owner_of(codes.pop().lower()) == "alice"


def test_a_reward_key_is_paid_once_by_racing_transactions(db_url: str) -> None:
    store = store_on(db_url)
    ledger = PointsLedger(store.engine)

    def pay(_: int) -> bool:
        with store.engine.begin() as conn:
            paid = pay_one(
                conn,
                ledger,
                "alice",
                "ladder:3",
                Reward(points=500),
                invite_id=None,
                campaign_id="t1",
                group_id="g",
                now=NOW,
            )
        return paid is not None

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(pay, range(THREADS)))
    assert results.count(True) == 1
    assert ledger.balance("alice") == 500
