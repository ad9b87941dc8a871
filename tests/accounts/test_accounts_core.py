"""Several accounts on one PostgreSQL, in one test process: config, routing, claims, fail-over,
leases and the scheduler election (the three-process run is tests/multiaccount)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.account_sync import AccountSync
from bot.accounts import AccountDirectory
from bot.app import App
from bot.config import Config, ConfigError
from bot.events import TransportStatus
from bot.outbox import Draft
from bot.storage.election import SchedulerElection
from bot.storage.lease import LeaseHeld, ProcessLeaseHolder, account_lease_name
from bot.storage.tables import OutboxRow
from tests.conftest import make_config
from tests.factories import group_message
from tests.fakes import FakeClock, FakeTransport

pytestmark = pytest.mark.postgres

GROUPS = {
    "g1": {"name": "一群", "leaders": ["lily"], "tags": ["fruit"]},
    "g2": {"name": "二群", "leaders": ["mike"]},
    "g3": {"name": "三群", "leaders": ["lily"], "tags": ["fruit"]},
}
ACCOUNTS = [
    {"id": "a1", "groups": ["g1"], "tags": ["fruit"]},  # g1, and g3 by tag: a1 is g3's primary
    {"id": "a2", "groups": ["g2", "g3"]},  # g3's standby
]


def accounts_config(tmp_path: Path, url: str, **extra: Any) -> Config:
    return make_config(tmp_path, db_url=url, groups=GROUPS, accounts=ACCOUNTS, **extra)


def two_accounts(
    tmp_path: Path, pg_url: str, cfg: Config | None = None, **kwargs: Any
) -> tuple[FakeClock, tuple[App, FakeTransport], tuple[App, FakeTransport]]:
    """Accounts a1 and a2 on one PostgreSQL, as two processes would be, on one fake clock."""
    cfg, clock = cfg or accounts_config(tmp_path, pg_url), FakeClock()
    return clock, build(cfg, clock, "a1", **kwargs), build(cfg, clock, "a2", **kwargs)


def build(cfg: Config, clock: FakeClock, account: str, **kwargs: Any) -> tuple[App, FakeTransport]:
    app = App.build(cfg, clock=clock, rng=random.Random(7), account=account, **kwargs)
    return app, FakeTransport(app, clock)


def sync_of(app: App, told: list[tuple[str, dict[str, Any]]] | None = None) -> AccountSync:
    """The peer sync of an account app, driven by hand (`sync_once` then `apply`)."""
    assert app.accounts is not None
    return AccountSync(
        app.services,
        app.accounts,
        SchedulerElection(app.services.repo.engine, app.accounts.me),
        on_lead=lambda: None,
        notify_admins=lambda template, **v: told.append((template, v)) if told is not None else None,
    )


def rows(app: App) -> list[OutboxRow]:
    return app.services.outbox.store.all_rows()


# -- config ------------------------------------------------------------------------------------
def test_config_names_what_is_wrong_with_accounts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="several accounts need PostgreSQL"):
        make_config(tmp_path, groups=GROUPS, accounts=ACCOUNTS)
    with pytest.raises(ConfigError, match="a9 serves g9, not under groups"):
        make_config(
            tmp_path, db_url="postgresql://x/y", groups=GROUPS, accounts=[{"id": "a9", "groups": ["g9"]}]
        )
    with pytest.raises(ConfigError, match="listed twice"):
        make_config(tmp_path, db_url="postgresql://x/y", groups=GROUPS, accounts=[{"id": "a"}, {"id": "a"}])
    with pytest.raises(ConfigError, match="names tag veg, which no group has"):
        make_config(
            tmp_path, db_url="postgresql://x/y", groups=GROUPS, accounts=[{"id": "a", "tags": ["veg"]}]
        )
    with pytest.raises(ConfigError, match="letters, digits"):
        make_config(tmp_path, db_url="postgresql://x/y", groups=GROUPS, accounts=[{"id": "a b"}])


def test_the_directory_gives_each_group_its_first_live_lister(tmp_path: Path) -> None:
    cfg = accounts_config(tmp_path, "postgresql://x/y")
    a1 = AccountDirectory.from_config(cfg, "a1")
    a2 = AccountDirectory.from_config(cfg, "a2")
    assert a1.listed == {"g1": ("a1",), "g3": ("a1", "a2"), "g2": ("a2",)}
    assert [a1.handles(g) for g in ("g1", "g2", "g3")] == [True, False, True]
    assert [a2.handles(g) for g in ("g1", "g2", "g3")] == [False, True, False]
    assert a2.handles("unlisted") and a2.route("") == "a2"
    assert a2.set_down(["a1"]) == ["g3"]  # g1 has no other lister: its posts wait for a1
    assert a2.server("g1") == "a1" and a2.server("g3") == "a2"
    assert a2.taken_over() == {"a1": ["g3"]}
    assert a2.set_down([]) == ["g3"] and a2.taken_over() == {}
    with pytest.raises(ValueError, match="no account 'a7'"):
        AccountDirectory.from_config(cfg, "a7")


# -- the outbox across two account processes -------------------------------------------------------
async def test_a_post_for_another_accounts_group_is_claimed_and_sent_by_that_account_only(
    tmp_path: Path, pg_url: str
) -> None:
    clock, (app1, net1), (app2, net2) = two_accounts(tmp_path, pg_url)
    out1, out2 = app1.services.outbox, app2.services.outbox
    mine = out1.enqueue("一群的消息", group_id="g1")
    theirs = out1.enqueue("二群的消息", group_id="g2")
    await out1.drain()
    assert [m.text for m in net1.sent] == ["一群的消息"]
    by_id = {r.id: r for r in rows(app1)}
    assert (by_id[mine].account, by_id[mine].claimed, by_id[mine].status) == ("a1", True, "sent")
    assert (by_id[theirs].account, by_id[theirs].claimed, by_id[theirs].status) == ("a2", False, "queued")
    claimed = out2.store.claim()
    assert [r.id for r in claimed] == [theirs]
    assert out2.store.claim() == []  # a row is handed out once
    assert out2.adopt(claimed) == 1
    await out2.drain()
    assert [m.text for m in net2.sent] == ["二群的消息"]
    assert {r.id: r.status for r in rows(app1)} == {mine: "sent", theirs: "sent"}


async def test_two_account_processes_never_hand_out_the_same_outbox_id(tmp_path: Path, pg_url: str) -> None:
    clock, (app1, _), (app2, _) = two_accounts(tmp_path, pg_url)
    ids = [app.services.outbox.store.allocate() for _ in range(2500) for app in (app1, app2)]
    assert len(set(ids)) == len(ids)


async def test_a_standby_takes_over_a_down_primarys_queued_posts_and_nothing_leaves_twice(
    tmp_path: Path, pg_url: str
) -> None:
    clock, (app1, net1), (app2, net2) = two_accounts(tmp_path, pg_url, hold_lease=True)
    told: list[tuple[str, dict[str, Any]]] = []
    sync = sync_of(app2, told)
    waiting = app1.services.outbox.enqueue("三群：今晚开团", group_id="g3")
    await app1.services.outbox.flush()  # in a1's queue and in the table, not sent yet
    found = sync.sync_once()
    assert found.down == frozenset() and found.moved == {} and found.claimed == []

    assert app1.lease is not None
    app1.lease.set_state("logged_out")  # a1's WeChat logged out; its process is still up
    found = sync.sync_once()
    sync.apply(found)
    assert found.down == {"a1"} and found.moved == {"a1": (["g3"], 1)}
    assert [r.id for r in found.claimed] == [waiting]
    assert [t for t, _ in told] == ["admin/account_failover.j2"]
    await app2.services.outbox.drain()
    await app1.services.outbox.drain()  # a1 still holds it: its `sending` mark must not land
    assert [m.text for m in net2.sent if m.group_id == "g3"] == ["三群：今晚开团"]
    assert [m for m in net1.sent if m.group_id == "g3"] == []
    row = {r.id: r for r in rows(app2)}[waiting]
    assert (row.account, row.status) == ("a2", "sent")

    # New posts to g3 go to a2 while a1 is down, and back to a1 once it is up again.
    assert app2.accounts is not None and app2.accounts.route("g3") == "a2"
    app1.lease.set_state("online")
    sync.apply(sync.sync_once())
    assert app2.accounts.route("g3") == "a1"
    assert [t for t, _ in told] == ["admin/account_failover.j2", "admin/account_back.j2"]


async def test_a_process_ignores_messages_of_groups_another_account_serves(
    tmp_path: Path, pg_url: str
) -> None:
    clock, (app1, net1), (app2, net2) = two_accounts(tmp_path, pg_url)
    for app, net in ((app1, net1), (app2, net2)):
        message = group_message("/whoami", "amy", group="g2", at=clock.now(), message_id=f"m-{id(app)}")
        await net.inject(message)
    assert net1.sent == []  # a1 hears g2 too (both are in it) but a2 serves it
    assert net2.sent, "a2 answers in its own group"
    app1.flush_inbound()
    app2.flush_inbound()
    with app1.services.repo.engine.connect() as conn:
        logged = conn.execute(text("SELECT message_id FROM inbound_messages")).scalars().all()
    assert logged == [f"m-{id(app2)}"]


# -- leases and the election ---------------------------------------------------------------------
def test_account_leases_run_side_by_side_and_exclude_a_single_account_process(pg_url: str) -> None:
    from bot.schema import create_schema
    from bot.storage.engine import make_engine

    engine = make_engine(pg_url)
    create_schema(engine)
    a1 = ProcessLeaseHolder(engine, name=account_lease_name("a1"))
    a2 = ProcessLeaseHolder(engine, name=account_lease_name("a2"))
    a1.acquire()
    a2.acquire()
    with pytest.raises(LeaseHeld):
        ProcessLeaseHolder(engine, name=account_lease_name("a1")).acquire()
    with pytest.raises(LeaseHeld):
        ProcessLeaseHolder(engine).acquire()  # `tuanbot run` without --account
    a1.release()
    a2.release()
    single = ProcessLeaseHolder(engine)
    single.acquire()
    with pytest.raises(LeaseHeld):
        ProcessLeaseHolder(engine, name=account_lease_name("a1")).acquire()
    single.release()


def test_exactly_one_process_wins_the_scheduler_and_another_takes_it_when_it_goes(pg_url: str) -> None:
    from bot.schema import create_schema
    from bot.storage.engine import make_engine
    from bot.storage.lease import TABLE

    engine = make_engine(pg_url)
    create_schema(engine)
    first, second = SchedulerElection(engine, "a1"), SchedulerElection(engine, "a2")
    assert first.try_lead() and not second.try_lead()
    assert first.leading and not second.leading
    first.release()  # as the server does when the holder's connection dies
    assert second.try_lead()
    with engine.connect() as conn:
        holder = conn.execute(select(TABLE.c.holder).where(TABLE.c.name == "scheduler")).scalar_one()
    assert holder.endswith(":a2")
    second.release()


async def test_a_nodes_private_messages_go_through_an_account_in_the_members_group(
    tmp_path: Path, pg_url: str
) -> None:
    clock, (app1, _), (app2, net2) = two_accounts(tmp_path, pg_url)
    await net2.inject(group_message("在吗", "cat", group="g2", at=clock.now()))
    app2.flush_inbound()
    drafts = [Draft("取货码", member_id=m) for m in ("cat", "mike", "zed")]
    ids = app1.services.outbox.enqueue_atomic(drafts, guard=lambda conn: True)  # the scheduler is a1
    assert ids is not None
    accounts = {r.member_id: r.account for r in rows(app1) if r.id in ids}
    # cat is in g2 (a2's); mike leads g2 in config and never spoke; nobody knows zed: a1 sends it
    assert accounts == {"cat": "a2", "mike": "a2", "zed": "a1"}


async def test_a_primary_removed_from_a_group_hands_it_to_the_standby_until_it_is_back(
    tmp_path: Path, pg_url: str
) -> None:
    clock, (app1, net1), (app2, _) = two_accounts(tmp_path, pg_url, hold_lease=True)
    told: list[tuple[str, dict[str, Any]]] = []
    sync1, sync2 = sync_of(app1), sync_of(app2, told)
    assert app1.accounts is not None and app2.accounts is not None
    await net1.inject(TransportStatus("removed_from_group", clock.now(), group_id="g3"))
    await asyncio.sleep(0.2)  # the absence is written off the loop
    sync1.apply(sync1.sync_once())
    found = sync2.sync_once()
    assert found.down == frozenset() and found.moved == {"a1": (["g3"], 0)}
    sync2.apply(found)
    sync2.apply(sync2.sync_once())  # told once, not again while it lasts
    assert [(t, v["removed"]) for t, v in told] == [("admin/account_failover.j2", True)]
    assert app2.accounts.handles("g3") and not app1.accounts.handles("g3")
    assert app1.accounts.handles("g1")  # only that group moved

    await net1.inject(group_message("我又回来了", "amy", group="g3", at=clock.now()))  # a1 was added back
    await asyncio.sleep(0.2)
    sync1.apply(sync1.sync_once())
    sync2.apply(sync2.sync_once())
    assert app1.accounts.handles("g3") and not app2.accounts.handles("g3")
    assert [t for t, _ in told] == ["admin/account_failover.j2", "admin/account_back.j2"]


async def test_a_private_message_to_a_member_this_process_never_heard_goes_through_their_groups_account(
    tmp_path: Path, pg_url: str
) -> None:
    clock, (app1, net1), (app2, net2) = two_accounts(tmp_path, pg_url, hold_lease=True)
    await net2.inject(group_message("在吗", "cat", group="g2", at=clock.now()))  # cat is in a2's group
    await net1.inject(group_message("在吗", "amy", group="g1", at=clock.now()))  # amy talks to a1
    app2.flush_inbound()
    out1 = app1.services.outbox
    to_cat = out1.enqueue("取货码 K7F3", member_id="cat")  # e.g. queued at close in a1, the scheduler
    to_amy = out1.enqueue("取货码 Q2P9", member_id="amy")
    await out1.drain()
    assert [m.text for m in net1.sent if m.member_id] == ["取货码 Q2P9"]
    assert {r.id: r.account for r in rows(app1) if r.id in (to_cat, to_amy)} == {to_cat: "?", to_amy: "a1"}

    sync2 = sync_of(app2)
    sync2.apply(sync2.sync_once())
    await app2.services.outbox.drain()
    assert [m.text for m in net2.sent if m.member_id == "cat"] == ["取货码 K7F3"]
    assert {r.id: (r.account, r.status) for r in rows(app1)}[to_cat] == ("a2", "sent")


async def test_a_burst_started_by_the_schedulers_process_is_grabbed_in_another_accounts_group(
    tmp_path: Path, pg_url: str
) -> None:
    from datetime import timedelta

    from handlers.redpacket.chat import close_burst, start_burst
    from handlers.redpacket.memory import memory_of
    from handlers.redpacket.service import RedPacketStore
    from handlers.redpacket.shared import RedPacketShared

    clock, (app1, _), (app2, net2) = two_accounts(tmp_path, pg_url)
    with app1.services.repo.engine.begin() as conn:  # the rain node ran in a1, the scheduler
        assert start_burst(
            app1.services, conn, burst_id="b1", group_id="g2", campaign_id="c", node_id="rain",
            keyword="抢红包", packets=3, budget_cents=300, window=timedelta(minutes=5), now=clock.now(),
            credit_until=None, started_by="node",
        )  # fmt: skip
    await net2.inject(group_message("抢红包", "cat", group="g2", at=clock.now()))  # a2 never heard of it
    shared = RedPacketShared(app2.services)
    shared.apply(shared.read())  # the peer sync, a second later
    await net2.inject(group_message("抢红包", "dan", group="g2", at=clock.now()))
    store = RedPacketStore(app1.services.repo.engine)
    assert [w.member_id for w in store.winners("b1")] == ["dan"]  # cat's words were chatter to a2

    assert close_burst(app1.services, "b1")  # the close job ran in a1 too
    shared.apply(shared.read())
    [live] = memory_of(app2.services).bursts.groups["g2"]["抢红包"]
    assert live.status == "closed"


async def test_broadcast_codes_made_in_one_process_are_known_in_the_others(
    tmp_path: Path, pg_url: str
) -> None:
    from handlers.broadcast.codes_memory import BroadcastsShared
    from handlers.broadcast.service import broadcasts_of

    clock, (app1, _), (app2, _) = two_accounts(tmp_path, pg_url)
    made, codes = broadcasts_of(app1.services).create(
        "lily", "今晚开团", "#fruit", ["g1", "g2"], clock.now(), clock.now()
    )
    theirs = broadcasts_of(app2.services)
    assert theirs.code_in("g2", [codes["g2"]]) is None
    shared = BroadcastsShared(theirs)
    shared.apply(shared.read())
    assert theirs.code_in("g2", [codes["g2"]]) == (codes["g2"], made)  # a reply in a2's group counts
    assert broadcasts_of(app1.services).cancel(made, "lily", may_cancel_others=False) == "cancelled"
    shared.apply(shared.read())
    assert theirs.code_in("g2", [codes["g2"]]) is None


async def test_a_standby_knows_who_the_primary_muted_in_a_group_before_taking_it_over(
    tmp_path: Path, pg_url: str
) -> None:
    from handlers.moderation.service import Moderation
    from handlers.moderation.shared import ModerationShared

    clock, (app1, net1), (app2, _) = two_accounts(tmp_path, pg_url)
    shared = ModerationShared(app2.services, app2.services.get(Moderation))
    assert shared.read() == []  # the first read only finds where the log ends
    await net1.inject(group_message("/mute @amy 1h", "lily", group="g3", at=clock.now(), mentions=("amy",)))
    app1.flush_inbound()
    await app1.services.written_behind("moderation audit")
    shared.apply(shared.read())
    muted = app2.services.get(Moderation).mutes
    assert muted.until(("g3", "amy"), clock.now()) is not None  # g3 is a1's; a2 stands by for it
