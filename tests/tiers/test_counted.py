"""What counts toward a tier, read from the selling tables (on SQLite and PostgreSQL): active
orders of groups whose sale has closed; not cancelled ones, not those of a group still open, and
of a group in its 限时返场 only what it sold before the 返场 (the rest counts when the 返场 closes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from bot.schema import create_schema
from bot.storage.engine import init_db, make_engine
from handlers.selling.tables import ACTIVE, CANCELLED, GROUPS, ORDERS, REOPENS
from handlers.tiers.store import everyone, purchases_of
from handlers.tiers.tables import PROMOTIONS, TIERS

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)


def order(
    oid: int, campaign: str, group: str, member: str, cents: int, status: str = ACTIVE
) -> dict[str, object]:
    return {
        "id": oid,
        "campaign_id": campaign,
        "group_id": group,
        "member_id": member,
        "product_code": "A1",
        "quantity": 2,
        "unit_price_cents": cents,
        "status": status,
        "created_at": NOW - timedelta(days=oid),
    }


def test_only_final_orders_count(db_url: str) -> None:
    engine = make_engine(db_url)
    create_schema(engine)
    init_db(engine, [TIERS, PROMOTIONS])
    with engine.begin() as conn:
        conn.execute(
            insert(GROUPS),
            [
                {"campaign_id": "c1", "group_id": "g1", "status": "closed"},
                {"campaign_id": "c1", "group_id": "g2", "status": "open"},
                {"campaign_id": "c2", "group_id": "g1", "status": "reopen"},
            ],
        )
        conn.execute(
            insert(REOPENS), [{"campaign_id": "c2", "group_id": "g1", "opened_at": NOW, "after_order_id": 5}]
        )
        conn.execute(
            insert(ORDERS),
            [
                order(1, "c1", "g1", "alice", 1000),  # closed: counts
                order(2, "c1", "g1", "alice", 500, CANCELLED),  # cancelled before close: no
                order(3, "c1", "g2", "alice", 700),  # the sale is still open in g2: not yet
                order(4, "c2", "g1", "bob", 300),  # sold before the 返场: counts
                order(6, "c2", "g1", "bob", 900),  # sold in the 返场, still open: not yet
                order(8, "c1", "g1", "carol", 100),
            ],
        )
    with engine.connect() as conn:
        found = purchases_of(conn, ["alice", "bob", "carol", "nobody"], NOW - timedelta(days=7))
        members = everyone(conn, NOW - timedelta(days=7))
    assert {m: [(p.campaign_id, p.cents) for p in ps] for m, ps in found.items()} == {
        "alice": [("c1", 2000)],
        "bob": [("c2", 600)],
    }  # carol's order is 8 days old: out of the window
    assert members == ["alice", "bob"]
    engine.dispose()
