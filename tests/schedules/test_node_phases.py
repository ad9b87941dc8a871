"""A node kind's explicit phases: effects only after the ledger claim, in its transaction.

Issue 14, "Timeline runners have side effects before the claim": a duplicate run of `open` or
`close` in a group (a second `/open`, the scheduler's own run racing a leader's) must repeat
none of the node's effects, and a runner failing must roll its claim back so the node can run
again. Also "Timeline fan-out": one node run renders its group-independent text and reads the
stock once, not once per group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.campaign.nodes import NodeRun
from bot.outbox import Draft
from bot.templates import Renderer
from handlers.coupons.store import CouponStore
from handlers.selling.announcer import StockAnnouncer
from handlers.selling.notices import NoticeBoard
from handlers.selling.store import OrderStore
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, Shop, build_shop, campaign_text
from tests.fakes import FakeClock

COUPONS = """\
coupons:
  - id: strawberry
    keyword: 草莓券
    amount: 8
    min_spend: 15
    products: [A1]
    valid_until: C
"""


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, calls: Counter[str]) -> None:
    """Count calls of `owner.name` (a class attribute, so every instance is counted)."""
    original = getattr(owner, name)
    is_static = isinstance(owner.__dict__.get(name), staticmethod)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, staticmethod(counted) if is_static else counted)


@pytest.fixture
def effects(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every effect the open and close nodes have on stock, coupons, states and this process."""
    calls: Counter[str] = Counter()
    for owner, name in (
        (OrderStore, "ensure_stock"),
        (OrderStore, "ensure_stock_in"),
        (OrderStore, "set_group_status"),
        (CouponStore, "redeem"),
        (CouponStore, "redeem_in"),
        (CouponStore, "redeem_credit"),
        (CouponStore, "redeem_credit_in"),
        (StockAnnouncer, "mark_posted"),
        (NoticeBoard, "drop_preopen"),
    ):
        count_calls(monkeypatch, owner, name, calls)
    return calls


def node(shop: Shop, node_id: str) -> Any:
    return next(n for n in shop.registry.effective_nodes("t1") if n.node_id == node_id)


def run_in_g1(shop: Shop, node_id: str) -> list[int] | None:
    return shop.registry.run_in_group("t1", node(shop, node_id), G1, now=shop.clock.now())


async def orders_with_coupon(shop: Shop) -> None:
    await shop.open()
    await shop.say("草莓券", "alice", name="王阿姨")
    await shop.say("/redpacket 1 3", "lily")
    await shop.say("抢", "alice", name="王阿姨")
    await shop.say("A1 2", "alice", name="王阿姨")
    await shop.drain()


async def test_a_second_open_in_a_group_repeats_no_effect(
    tmp_path: Path, clock: FakeClock, effects: Counter[str]
) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS)
    assert run_in_g1(shop, "open")
    once = Counter(effects)
    assert once["ensure_stock_in"] == 1 and once["mark_posted"] == 1 and once["drop_preopen"] == 1
    await shop.say("A1 2", "alice")
    stock = shop.stock("A1")
    assert run_in_g1(shop, "open") is None  # a second /open, or a restart's run
    await shop.drain()
    assert effects == once  # not re-seeded, the board and the pre-open replies untouched
    assert shop.stock("A1") == stock == 8
    assert sum("现在开团" in t for t in shop.texts(G1)) == 1


async def test_a_scheduler_run_racing_a_leaders_close_repeats_no_effect(
    tmp_path: Path, clock: FakeClock, effects: Counter[str]
) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text() + COUPONS)
    await orders_with_coupon(shop)
    clock.set(CLOSES)
    effects.clear()
    assert run_in_g1(shop, "close")  # the leader's /close
    await shop.drain()
    settled = (
        effects["redeem_in"] + effects["redeem"] + effects["redeem_credit_in"] + effects["redeem_credit"]
    )
    assert settled == 2  # alice's coupon and her red-packet credit
    first = Counter(effects)
    # The scheduler read the group states before the leader's close committed, so it runs there too.
    results = shop.registry.run_in_groups("t1", node(shop, "close"), [G1, G2], now=clock.now())
    assert results[G1] is None and results[G2] is not None
    assert run_in_g1(shop, "close") is None  # and a second /close
    await shop.drain()
    # Nothing repeated in G1; G2's close seeded (idempotently) in its own claim and settled nobody.
    assert effects == first + Counter({"ensure_stock_in": 1})
    assert effects["set_group_status"] == 0  # the state moved with the claim, not from the runner
    redeemed = CouponStore(shop.app.services.repo.engine).consumed("campaign:t1")
    assert [member for member, _ in redeemed] == ["alice", "alice"]
    assert sum("团购战绩" in t for t in shop.texts(G1)) == 1
    assert shop.registry.store.group_status("t1", G1) == "closed"
    assert shop.registry.store.group_status("t1", G2) == "closed"


async def test_a_runner_failing_rolls_the_claim_and_its_effects_back(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS)
    real = shop.registry.runners["open"]

    def broken(run: NodeRun) -> list[Draft]:
        real(run)  # it got as far as rendering, after the hooks seeded stock
        raise RuntimeError("template typo")

    monkeypatch.setitem(shop.registry.runners, "open", broken)
    with pytest.raises(RuntimeError):
        run_in_g1(shop, "open")
    assert shop.registry.store.group_status("t1", G1) == "scheduled"
    assert not [e for e in shop.registry.store.ledger("t1") if e.group_id == G1]
    assert shop.sell.status("t1", G1) == "scheduled"  # nothing after-commit ran
    assert OrderStore(shop.app.services.repo.engine).stock("t1") == []  # the seeding rolled back
    monkeypatch.setitem(shop.registry.runners, "open", real)
    assert run_in_g1(shop, "open")  # the node runs again
    await shop.drain()
    assert shop.registry.store.group_status("t1", G1) == "open"
    assert sum("现在开团" in t for t in shop.texts(G1)) == 1


def count_renders(monkeypatch: pytest.MonkeyPatch, calls: Counter[str]) -> None:
    original: Callable[..., str] = Renderer.render

    def counted(self: Renderer, name: str, /, **variables: Any) -> str:
        calls[name] += 1
        return original(self, name, **variables)

    monkeypatch.setattr(Renderer, "render", counted)


async def test_one_node_run_renders_its_text_and_reads_stock_once_for_all_groups(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, effects: Counter[str]
) -> None:
    shop = build_shop(tmp_path, clock)
    renders: Counter[str] = Counter()
    count_renders(monkeypatch, renders)
    count_calls(monkeypatch, OrderStore, "stock", effects)
    await shop.open()
    outcome = shop.registry.outcomes[-1]
    assert outcome.posted == 2
    assert renders["campaign/open.j2"] == 1 and renders["stock/board.j2"] == 1
    assert effects["stock"] == 1
    assert effects["ensure_stock_in"] == 1  # seeded once in the chunk's transaction
    opening = [t for t in shop.texts(G1) if "现在开团" in t]
    assert opening and opening == [t for t in shop.texts(G2) if "现在开团" in t]


def count_savepoints(shop: Shop) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SAVEPOINT"):
            seen.append(statement)

    event.listen(shop.app.services.repo.engine, "before_cursor_execute", record)
    return seen


async def test_an_opening_over_several_groups_takes_no_savepoint_per_group(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A SAVEPOINT and its RELEASE per group were a fifth of the event loop's time in a burst of 100
    openings; a chunk runs without them and only a chunk with a failing group is redone with them."""
    shop = build_shop(tmp_path, clock)
    savepoints = count_savepoints(shop)
    await shop.open()
    assert shop.registry.store.group_status("t1", G1) == "open"
    assert shop.registry.store.group_status("t1", G2) == "open"
    assert savepoints == []


async def test_a_group_failing_in_a_chunk_leaves_the_others_committed(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = build_shop(tmp_path, clock)
    real = shop.registry.runners["open"]

    def broken_in_g1(run: NodeRun) -> list[Draft]:
        drafts = real(run)  # after the hooks seeded stock and opened the group
        if run.group_id == G1:
            raise RuntimeError("template typo")
        return drafts

    monkeypatch.setitem(shop.registry.runners, "open", broken_in_g1)
    await shop.open()
    assert shop.registry.store.group_status("t1", G1) == "scheduled"  # rolled back alone
    assert shop.registry.store.group_status("t1", G2) == "open"
    ledger = {e.group_id: e for e in shop.registry.store.ledger("t1") if e.node_id == "open"}
    assert ledger[G1].status == "skipped" and "template typo" in ledger[G1].detail  # recorded, not posted
    assert ledger[G2].status == "posted"
    assert sum("现在开团" in t for t in shop.texts(G2)) == 1 and shop.texts(G1) == []
    assert shop.sell.status("t1", G1) == "scheduled" and shop.sell.status("t1", G2) == "open"
