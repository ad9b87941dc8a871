"""Features' memory follows what other account processes write (several accounts on one PostgreSQL).

Each test builds two account apps in one process (`build`, `two_accounts` of test_accounts_core), writes through
one, runs the other's follower (`bot.shared_state`: the read the peer sync makes off the loop,
then the apply on it) and checks that the other answers from the new state.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from bot.app import App
from bot.config import Config
from bot.shared_state import SharedState
from bot.storage.tables import CampaignGroupState
from handlers.selling.perks import NO_PERKS, MemberPerks
from handlers.selling.tables import ORDERS
from tests.accounts.test_accounts_core import build, two_accounts
from tests.conftest import make_config
from tests.factories import private_message
from tests.fakes import FakeClock

pytestmark = pytest.mark.postgres

GROUPS = {
    "g1": {"name": "一群", "leaders": ["lily"]},
    "g2": {"name": "二群", "leaders": ["mike"]},
}
ACCOUNTS = [{"id": "a1", "groups": ["g1"]}, {"id": "a2", "groups": ["g2"]}]
TIERS: dict[str, Any] = {
    "levels": [
        {"name": "银卡", "spend_yuan": 30, "days": 90, "extra_limit": 1},
        {"name": "VIP", "spend_yuan": 100, "orders": 2, "days": 90, "extra_limit": 2, "discount_percent": 5},
    ]
}


def accounts_config(tmp_path: Path, url: str, **extra: Any) -> Config:
    return make_config(tmp_path, db_url=url, groups=GROUPS, accounts=ACCOUNTS, **extra)


def follower(app: App, kind: type) -> SharedState:
    """The feature's registered follower (its setup appended it)."""
    found = [s for s in app.services.shared_state if isinstance(s, kind)]
    assert len(found) == 1, app.services.shared_state
    return found[0]


def follow(state: SharedState) -> Any:
    """One peer-sync pass of this follower: the read (a worker thread's part), then the apply."""
    snapshot = state.read()
    state.apply(snapshot)
    return snapshot


# -- tiers: a recompute in another process changes the perks orders are priced with -------------------
def _closed_sales(app: App, member_id: str, clock: FakeClock) -> None:
    """Two closed sales in which `member_id` spent ¥60 each (VIP: ¥100 and two orders)."""
    with app.services.repo.engine.begin() as conn:
        for n, campaign_id in enumerate(("c1", "c2")):
            at = clock.now() - timedelta(days=10 - n)
            conn.execute(
                insert(CampaignGroupState.__table__).values(  # type: ignore[attr-defined]
                    campaign_id=campaign_id, group_id="g1", status="closed", opened_at=at, closed_at=at
                )
            )
            conn.execute(
                insert(ORDERS).values(
                    campaign_id=campaign_id, group_id="g1", member_id=member_id, member_name="Amy",
                    product_code="A1", quantity=2, unit_price_cents=3000, status="active", created_at=at,
                )
            )  # fmt: skip


async def test_a_tier_recomputed_in_another_process_prices_this_ones_orders(
    tmp_path: Path, pg_url: str
) -> None:
    from handlers.tiers.book import TierBook
    from handlers.tiers.chat import recompute_everyone
    from handlers.tiers.shared import TiersShared

    cfg = accounts_config(tmp_path, pg_url, tiers=TIERS)
    clock = FakeClock()
    app1, _ = build(cfg, clock, "a1")
    app2, _ = build(cfg, clock, "a2")
    _closed_sales(app1, "amy", clock)
    book1 = app1.services.get(TierBook)
    assert recompute_everyone(app1.services, book1)["promoted"] == 1  # e.g. an admin's /tiers recompute in a1
    perks2 = app2.services.get(MemberPerks)  # type: ignore[type-abstract]
    assert perks2.perks("amy", "c3") == NO_PERKS  # a2 still prices amy at the base tier

    shared = follower(app2, TiersShared)
    assert set(follow(shared)) == {"amy"}
    assert (perks2.perks("amy", "c3").tier, perks2.perks("amy", "c3").discount_percent) == ("VIP", 5)
    assert follow(shared) == {}  # followed: the next pass reads index entries, no rows


def test_an_older_read_never_replaces_a_newer_recompute(tmp_path: Path) -> None:
    from handlers.tiers.book import TierBook
    from handlers.tiers.rules import Held

    cfg = make_config(tmp_path, tiers=TIERS)
    clock = FakeClock()
    book = TierBook(cfg.tiers, clock)
    later = clock.now() + timedelta(days=90)
    vip = Held(2, "VIP", later, "spend", 12000, 2)
    book.update({"amy": [vip]}, clock.now())  # this process's close, committed
    book.follow({"amy": (clock.now() - timedelta(seconds=1), [])})  # a read that began before it
    assert book.perks("amy", "c").tier == "VIP"
    book.follow({"amy": (clock.now() + timedelta(seconds=1), [])})  # a later recompute: back to base
    assert book.perks("amy", "c") == NO_PERKS


# -- after-sales: resolved in one process, rated through another ---------------------------------------
async def test_a_ticket_resolved_through_one_account_is_rated_through_another(
    tmp_path: Path, pg_url: str
) -> None:
    from handlers.aftersales.matcher import state_of
    from handlers.aftersales.shared import AftersalesShared
    from handlers.aftersales.store import TicketStore

    clock, (app1, net1), (app2, net2) = two_accounts(tmp_path, pg_url, accounts_config(tmp_path, pg_url))
    store = TicketStore(app1.services.repo.engine)
    now = clock.now()
    ticket = store.open(
        campaign_id="c1", group_id="g1", member_id="amy", member_name="Amy", text="草莓坏了",
        opened_at=now, reply_due_at=now + timedelta(hours=2), resolve_due_at=now + timedelta(hours=24),
    )  # fmt: skip
    await net1.inject(private_message(f"/ticket {ticket.id} 已解决 补了两个", "lily", at=now))
    assert store.get(ticket.id).resolved_at is not None  # type: ignore[union-attr]
    assert "amy" in state_of(app1.services).awaiting

    await net2.inject(private_message("5", "amy", at=clock.now()))  # amy answers the account she hears
    assert store.get(ticket.id).rating is None  # type: ignore[union-attr]  # a2: just a digit

    follow(follower(app2, AftersalesShared))
    await net2.inject(private_message("5", "amy", at=clock.now()))
    assert store.get(ticket.id).rating == 5  # type: ignore[union-attr]
    assert net2.private_texts("amy")

    net1.clear()
    await net1.inject(private_message("3", "amy", at=clock.now()))  # a1 still thinks she may rate:
    assert store.get(ticket.id).rating == 5  # type: ignore[union-attr]  # the database says no,
    assert net1.private_texts("amy") == []  # nothing is said,
    assert "amy" not in state_of(app1.services).awaiting  # and a1 forgets her


async def test_a_rating_in_another_process_is_forgotten_here(tmp_path: Path, pg_url: str) -> None:
    from handlers.aftersales.matcher import state_of
    from handlers.aftersales.shared import AftersalesShared
    from handlers.aftersales.store import TicketStore

    cfg = accounts_config(tmp_path, pg_url)
    clock = FakeClock()
    app1, net1 = build(cfg, clock, "a1")
    now = clock.now()
    store = TicketStore(app1.services.repo.engine)
    ticket = store.open(
        campaign_id="c1", group_id="g1", member_id="amy", member_name="Amy", text="少了一盒",
        opened_at=now, reply_due_at=now + timedelta(hours=2), resolve_due_at=now + timedelta(hours=24),
    )  # fmt: skip
    await net1.inject(private_message(f"/ticket {ticket.id} 已解决", "lily", at=now))
    app2, _ = build(cfg, clock, "a2")  # started after the resolution: knows amy from its setup
    shared = follower(app2, AftersalesShared)
    follow(shared)
    assert "amy" in state_of(app2.services).awaiting
    rated, _ = store.rate("amy", 4, clock.now(), clock.now() - timedelta(days=7))  # through a1
    assert rated is not None
    follow(shared)
    assert "amy" not in state_of(app2.services).awaiting


# -- FAQ: an entry added through the primary is answered by the standby that takes the group over ------
async def test_a_faq_entry_added_through_the_primary_is_answered_by_the_standby(
    tmp_path: Path, pg_url: str
) -> None:
    from handlers.faq.shared import FaqShared
    from tests.factories import group_message

    accounts = [{"id": "a1", "groups": ["g1"]}, {"id": "a2", "groups": ["g2", "g1"]}]  # a2 stands by for g1
    cfg = make_config(tmp_path, db_url=pg_url, groups=GROUPS, accounts=accounts)
    clock = FakeClock()
    app1, net1 = build(cfg, clock, "a1")
    app2, net2 = build(cfg, clock, "a2")
    shared = follower(app2, FaqShared)
    assert follow(shared) == {}  # the first look reads the (empty) table once
    assert shared.read() is None  # then nothing moved: no rows are read

    await net1.inject(
        group_message(
            "/faq add 周日下雨还能提货吗 | 照常提货，驿站有雨棚～", "lily", group="g1", at=clock.now()
        )
    )
    assert "已添加常见问题" in net1.texts("g1")[-1]
    assert app2.accounts is not None
    app2.accounts.set_down(["a1"])  # a1's process is gone: a2 serves g1 now
    ask = "周日下雨还可以提货吗？"
    await net2.inject(group_message(ask, "alice", group="g1", at=clock.now()))
    assert [m.text for m in net2.sent if m.group_id == "g1"] == []  # a2 never heard of the entry

    follow(shared)
    clock.advance(120)
    await net2.inject(group_message(ask, "bob", group="g1", at=clock.now()))
    assert [m.text for m in net2.sent if m.group_id == "g1" and m.kind == "faq"] == [
        "💡 照常提货，驿站有雨棚～"
    ]

    await net1.inject(group_message("/faq del 1", "lily", group="g1", at=clock.now()))  # a1 back, removes it
    follow(shared)
    clock.advance(120)
    await net2.inject(group_message(ask, "cat", group="g1", at=clock.now()))
    assert len([m for m in net2.sent if m.group_id == "g1" and m.kind == "faq"]) == 1
