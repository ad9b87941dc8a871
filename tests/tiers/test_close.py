"""Tiers at close: the group's buyers are recomputed from committed, non-cancelled orders in the
close's transaction; the promoted are told privately, once, never in the group; the book (what
selling asks) follows the commit and a restart reloads it. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.campaign.nodes import NodeRun
from bot.storage.timeline_store import TimelineStore
from handlers.selling.perks import NO_PERKS, MemberPerks, Perks
from handlers.selling.tables import ORDERS as ORDER_ROWS
from handlers.tiers.book import TierBook
from handlers.tiers.closing import hook_close
from handlers.tiers.tables import PROMOTIONS, TIERS
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS
from tests.fakes import FakeClock
from tests.tiers.kit import T0_CLOSES, add_earlier_sale, run_sale, tier_shop

ORDERS = [
    ("alice", "A1 3", G1),  # ¥30: 银卡
    ("bob", "A2 5", G2),  # ¥102.50: VIP by spend
    ("carol", "A2 5", G1),  # ¥102.50, then cancelled: nothing
    ("dave", "A1 1", G1),  # ¥10: 普通
]


def promotions(shop_texts: list[str]) -> list[str]:
    return [t for t in shop_texts if "恭喜升级" in t]


async def test_buyers_are_promoted_at_close_privately_once(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = tier_shop(tmp_path, clock, db_url=db_url)
    await shop.open()
    for member, text, group in ORDERS:
        await shop.say(text, member, group)
    await shop.say("取消全部", "carol")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.registry.run_node("t1", "close")  # a retried job: the claim is taken, nothing more
    await shop.drain()

    transport = shop.transport
    [to_alice] = promotions(transport.private_texts("alice"))
    assert "「银卡」" in to_alice and "每个商品可多买 1 件" in to_alice and "「VIP」" in to_alice
    [to_bob] = promotions(transport.private_texts("bob"))
    assert "「VIP」" in to_bob and "开团前 30 分钟" in to_bob and "满减后再减 5%" in to_bob
    assert promotions(transport.private_texts("carol")) == promotions(transport.private_texts("dave")) == []
    assert not any("升级" in t or "VIP" in t for t in transport.texts(G1) + transport.texts(G2))

    perks = shop.app.services.get(MemberPerks)  # type: ignore[type-abstract]
    assert isinstance(perks, TierBook)
    assert perks.perks("bob", "t2") == Perks(30, 2, 5, "VIP")
    assert perks.perks("alice", "t2") == Perks(0, 1, 0, "银卡")
    assert perks.perks("carol", "t2") == perks.perks("dave", "t2") == NO_PERKS

    engine = shop.app.services.repo.engine
    with engine.connect() as conn:
        rows = {(r.member_id, r.tier): r for r in conn.execute(select(TIERS)).all()}
        promoted = conn.execute(
            select(PROMOTIONS.c.member_id, PROMOTIONS.c.tier, PROMOTIONS.c.group_id)
        ).all()
        bob_ordered = conn.execute(
            select(ORDER_ROWS.c.created_at).where(ORDER_ROWS.c.member_id == "bob")
        ).scalar_one()
    assert set(rows) == {("alice", "银卡"), ("bob", "银卡"), ("bob", "VIP")}
    bob = rows[("bob", "VIP")]
    assert (bob.reached_by, bob.spend_cents, bob.orders, bob.campaign_id) == ("spend", 10_250, 1, "t1")
    assert bob.since == CLOSES and bob.expires_at == bob_ordered + timedelta(days=90)
    assert sorted(tuple(r) for r in promoted) == [("alice", "银卡", G1), ("bob", "VIP", G2)]

    # A new process on the same database answers from the rows it loads at start.
    again = tier_shop(tmp_path, clock, db_url=db_url)
    assert again.app.services.get(TierBook).perks("bob", "t2") == Perks(30, 2, 5, "VIP")


async def test_the_hook_run_twice_in_one_close_promotes_once(tmp_path: Path, clock: FakeClock) -> None:
    shop = tier_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A2 5", "bob")
    clock.set(CLOSES)
    loaded = shop.app.services.campaigns.campaigns["t1"]
    campaign, node = loaded.campaign, next(n for n in loaded.nodes if n.kind == "close")
    engine = shop.app.services.repo.engine
    with engine.begin() as conn:  # the group closed, as the runtime sets it before the hooks
        TimelineStore.set_group_status(conn, "t1", G1, "closed", clock.now())
        run = NodeRun(
            campaign, node, G1, shop.app.services, clock.now(), clock.now(), OPENS, CLOSES, conn=conn
        )
        hook_close(run, conn)
        hook_close(run, conn)  # a second hook run in the same transaction reads the first's rows
    for callback in run.after:
        callback()
    await shop.drain()
    assert len(promotions(shop.transport.private_texts("bob"))) == 1
    with engine.connect() as conn:
        assert len(conn.execute(select(PROMOTIONS)).all()) == 1


async def test_two_sales_make_a_vip_by_orders_and_a_tier_is_kept_not_promoted_again(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = tier_shop(tmp_path, clock)
    add_earlier_sale(shop, tmp_path)
    await run_sale(shop, "t0", [("alice", "A1 3", G1)])  # ¥30: 银卡
    assert len(promotions(shop.transport.private_texts("alice"))) == 1
    assert shop.app.services.get(TierBook).tier_of("alice", T0_CLOSES).name == "银卡"  # type: ignore[union-attr]
    await run_sale(shop, "t1", [("alice", "A1 1", G1), ("erin", "A1 3", G1)])  # her second sale: VIP
    to_alice = promotions(shop.transport.private_texts("alice"))
    assert len(to_alice) == 2 and "「VIP」" in to_alice[1]
    assert len(promotions(shop.transport.private_texts("erin"))) == 1  # 银卡, newly
    with shop.app.services.repo.engine.connect() as conn:
        silver = conn.execute(
            select(TIERS.c.since).where(TIERS.c.member_id == "alice", TIERS.c.tier == "银卡")
        ).scalar_one()
        vip = conn.execute(select(TIERS).where(TIERS.c.member_id == "alice", TIERS.c.tier == "VIP")).one()
    assert silver == T0_CLOSES  # held since the first close, not restarted by the second
    assert vip.reached_by == "orders" and vip.orders == 2
