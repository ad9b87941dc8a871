"""The order writer's 接龙 read-back keeps each group's lines and re-reads only the members a batch
changed (handlers/selling/chain_cache.py): the lists must be those a whole read gives, every batch."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.campaign import parse_campaign
from bot.storage.engine import init_db, make_engine
from handlers.selling import chain_cache
from handlers.selling.chain_read import chains_of
from handlers.selling.ops import Operation
from handlers.selling.store import CancelOrders, OrderStore, PlaceOrder, Restock

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
GROUPS = ("g1", "g2", "g3")


def _store(tmp_path: Path) -> OrderStore:
    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    init_db(engine)
    store = OrderStore(engine)
    store.ensure_stock(
        parse_campaign(
            "id: s\ntitle: 测试\ngroups: [g1, g2, g3]\nopens_at: 2026-12-05 20:00\ncloses_at: 2026-12-05 22:00\n"
            "products:\n  - {code: A1, name: 草莓, price: 10, stock: 40, limit_per_member: 6}\n"
            "  - {code: A2, name: 橙子, price: 5, stock: 30}\n  - {code: A3, name: 苹果, price: 3, stock: 20}\n"
        ),
        NOW,
    )
    for group in GROUPS:
        store.set_group_status("s", group, "open", NOW)
    return store


def _batch(rng: random.Random, at: datetime) -> list[Operation]:
    """Orders (some of several lines, some past the stock or the limit), cancels of one product
    or all, renames, and restocks, as a busy sale sends them."""
    ops: list[Operation] = []
    for _ in range(rng.randrange(1, 12)):
        member, group = f"m{rng.randrange(15)}", rng.choice(GROUPS)
        name = rng.choice([f"成员{member}", f"改名{member}"])
        roll = rng.random()
        if roll < 0.6:
            lines = tuple(
                (rng.choice(["A1", "A2", "A3"]), rng.randrange(1, 4)) for _ in range(rng.randrange(1, 3))
            )
            ops.append(PlaceOrder("s", group, member, name, lines, at))
        elif roll < 0.9:
            ops.append(CancelOrders("s", group, member, rng.choice([None, "A1", "A2", "A3"]), at, name))
        else:
            ops.append(Restock("s", rng.choice(["A1", "A2", "A3"]), rng.randrange(1, 10), at))
    return ops


def test_the_lists_read_back_are_those_a_whole_read_gives(tmp_path: Path, monkeypatch: Any) -> None:
    store = _store(tmp_path)
    whole_reads: list[list[str]] = []
    real = chain_cache.chains_of

    def counted(conn: Any, campaign_id: str, group_ids: list[str], *, one_row: bool) -> Any:
        whole_reads.append(list(group_ids))
        return real(conn, campaign_id, group_ids, one_row=one_row)

    monkeypatch.setattr(chain_cache, "chains_of", counted)
    rng = random.Random(11)
    compared = 0
    for n in range(150):
        at = NOW + timedelta(seconds=n)
        ops = _batch(rng, at)
        view = store.after_batch(ops, store.apply(ops, at))
        with store.engine.connect() as conn:
            for (campaign_id, group_id), entries in view.chains.items():
                assert entries == chains_of(conn, campaign_id, [group_id], one_row=True).get(group_id, []), n
                compared += 1
    assert compared > 200
    assert sorted(g for read in whole_reads for g in read) == sorted(GROUPS)  # each group read whole once


def test_a_failed_read_back_is_not_remembered(tmp_path: Path, monkeypatch: Any) -> None:
    """A batch committed but not read back (the read failed): its groups are read whole next time."""
    store = _store(tmp_path)
    first = [PlaceOrder("s", "g1", "a", "阿花", (("A1", 1),), NOW)]
    store.after_batch(first, store.apply(first, NOW))  # g1 kept
    second = [PlaceOrder("s", "g1", "b", "小白", (("A2", 2),), NOW)]
    results = store.apply(second, NOW)

    def failing(*_: Any) -> Any:
        raise OSError("disk I/O error")

    monkeypatch.setattr(chain_cache, "member_lines", failing)
    with pytest.raises(OSError):
        store.after_batch(second, results)
    monkeypatch.undo()
    third = [PlaceOrder("s", "g1", "a", "阿花", (("A1", 1),), NOW)]
    view = store.after_batch(third, store.apply(third, NOW))
    assert [(e.member_id, e.quantity) for e in view.chains[("s", "g1")]] == [("a", 2), ("b", 2)]
