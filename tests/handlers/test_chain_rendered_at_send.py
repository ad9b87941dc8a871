"""Issue 14: the 接龙 list is rendered when its post leaves, not after every order batch.

Every batch of a sale used to re-render each touched group's list (~300 µs a group on the
event loop) and replace the queued post, which the account sends at most 30 times a minute.
Now a queued list is only marked stale, and rendered once, from the committed orders, as it
leaves; its row keeps a whole (older) list until then, and a restart renders it afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.storage.outbox_store import OutboxStore
from tests.commerce.selling_kit import G1, G2, Shop, build_shop, campaign_text
from tests.fakes import FakeClock

G3 = "团购三群"
GROUPS = (G1, G2, G3)
PER_GROUP = 8


def count_list_renders(shop: Shop) -> list[str]:
    """Record each rendering of the 接龙 list template (by the selling feature's lists)."""
    seen: list[str] = []
    lists = shop.sell.chain_lists
    render: Callable[..., str] = lists.render

    def counted(template: str, **variables: Any) -> str:
        if template == "orders/chain_list.j2":
            seen.append(template)
        return render(template, **variables)

    lists.render = counted
    return seen


def chain_rows(shop: Shop, group: str) -> list[tuple[str, str]]:
    """(status, text) of the group's 接龙 rows in the outbox table (what a restart would find)."""
    rows = OutboxStore(shop.app.services.repo.engine).all_rows()
    return [(row.status, row.text) for row in rows if row.group_id == group and row.kind == "chain"]


async def test_a_burst_across_groups_renders_each_list_once_per_send_and_the_list_has_every_order(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=GROUPS, a1=100, limit=1))
    await shop.open()
    shop.transport.clear()
    renders = count_list_renders(shop)
    for n in range(PER_GROUP):  # each message is its own committed batch (`inject` settles the writer)
        for g, group in enumerate(GROUPS):
            await shop.say("A1 1", f"m{g}_{n}", group=group, name=f"团员{g}号{n}", drain=False)
    assert len(renders) == len(GROUPS)  # the first list of each group, stored in its row; no more
    await shop.drain()
    for g, group in enumerate(GROUPS):
        chains = [m.text for m in shop.transport.sent if m.group_id == group and m.kind == "chain"]
        assert len(chains) == 1, chains
        assert all(f"团员{g}号{n} " in chains[0] for n in range(PER_GROUP)), chains[0]
        assert f"A1×{PER_GROUP}" in chains[0]  # the totals line counts every committed order
        assert chain_rows(shop, group) == [("sent", chains[0])]  # the row holds what left
    # one rendering when each list was queued, one as it left: not one per batch
    assert len(renders) == 2 * len(GROUPS)


async def test_orders_after_a_list_left_start_a_new_list_marking_only_them_new(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=(G1,), a1=100, limit=5))
    await shop.open()
    shop.transport.clear()
    await shop.say("A1 1", "alice", name="爱丽丝", drain=False)
    await shop.say("A1 1", "bob", name="鲍勃", drain=False)
    await shop.drain()
    await shop.say("A1 1", "carol", name="卡罗", drain=False)
    await shop.say("A1 1", "dave", name="大卫", drain=False)
    await shop.drain()
    chains = [m.text for m in shop.transport.sent if m.kind == "chain"]
    assert len(chains) == 2
    first, second = chains
    assert "爱丽丝" in first and "鲍勃" in first and "卡罗" not in first
    assert all(name in second for name in ("爱丽丝", "鲍勃", "卡罗", "大卫"))
    new_lines = [line for line in second.splitlines() if "🆕" in line]
    assert len(new_lines) == 2 and all("卡罗" in line or "大卫" in line for line in new_lines)


async def test_a_restart_with_a_stale_list_queued_sends_every_committed_order(
    tmp_path: Path, clock: FakeClock
) -> None:
    text = campaign_text(groups=(G1,), a1=100, limit=5)
    shop = build_shop(tmp_path, clock, text=text)
    await shop.open()
    await shop.say("A1 1", "alice", name="爱丽丝", drain=False)
    await shop.say("A1 2", "bob", name="鲍勃", drain=False)  # marks the queued list stale: no write
    [(status, stored)] = chain_rows(shop, G1)
    # The row holds a whole list (its first rendering), never a torn one; bob is only in memory.
    assert status == "queued" and "爱丽丝" in stored and "鲍勃" not in stored
    assert "接龙名单" in stored and "合计：A1×1" in stored
    # the process dies before the list leaves; a new one starts on the same database
    after = build_shop(tmp_path, clock, text=text)
    await after.drain()
    chains = [m.text for m in after.transport.sent if m.group_id == G1 and m.kind == "chain"]
    assert len(chains) == 1
    assert "爱丽丝" in chains[0] and "鲍勃" in chains[0] and "合计：A1×3" in chains[0]
    assert chain_rows(after, G1) == [("sent", chains[0])]


async def test_a_list_cancelled_to_nothing_while_stale_is_not_sent(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=(G1,), a1=100, limit=5))
    await shop.open()
    shop.transport.clear()
    await shop.say("A1 1", "alice", name="爱丽丝", drain=False)
    await shop.say("A1 1", "alice", name="爱丽丝", drain=False)  # stale now
    await shop.say("取消", "alice", name="爱丽丝", drain=False)
    await shop.drain()
    assert not [m for m in shop.transport.sent if m.kind == "chain"]
    assert [status for status, _ in chain_rows(shop, G1)] == ["cancelled"]
