"""Stock posts at opening and broadcasts, threshold posts, and the leader's /stock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from tests.commerce.selling_kit import G1, G2, OPENS, build_shop, campaign_text
from tests.fakes import FakeClock


async def test_opening_post_carries_limited_time_and_quantity_labels(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    [opening] = [m.text for m in shop.transport.sent if m.group_id == G1]
    assert "现在开团" in opening and "限时开团 · 限量供应，12月5日 22:00 截单" in opening
    assert (
        "A1 丹东草莓 ¥10.00/盒 · 限量10份 · 每人限3份" in opening
        and "A2 赣南脐橙 ¥20.50 · 限量5份" in opening
    )


async def test_broadcast_shows_sales_and_only_n_left(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=10, a2=5, limit=5))
    await shop.open()
    await shop.say("A1 5", "a")
    await shop.say("A1 4", "b")
    clock.set(OPENS + timedelta(minutes=30))
    shop.transport.clear()
    await shop.registry.run_node("t1", "broadcast-T+30m")
    await shop.drain()
    [post] = shop.texts(G1)
    assert (
        "火热进行中，已售 9 件" in post and "A1 丹东草莓 · 仅剩1件" in post and "A2 赣南脐橙 · 剩5件" in post
    )


async def test_broadcast_is_skipped_when_everything_is_sold_and_told(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=2, a2=1, limit=5))
    await shop.open()
    await shop.say("A1 2 A2 1", "a")
    clock.set(OPENS + timedelta(minutes=30))
    shop.transport.clear()
    outcome = await shop.registry.run_node("t1", "broadcast-T+30m")
    await shop.drain()
    assert outcome is not None and shop.texts() == []


async def test_low_stock_is_announced_once_in_every_group(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=10, limit=10))
    await shop.open()
    clock.advance(300)
    shop.transport.clear()
    await shop.say("A1 8", "a")  # 2 left of 10: below 20%? no, exactly 20%
    assert not [m for m in shop.transport.sent if m.kind == "stock"]
    await shop.say("A1 1", "b")  # 1 left: below 20%
    clock.advance(120)
    await shop.say("A2 1", "c")  # nothing new about stock: no post
    stock_posts = [m for m in shop.transport.sent if m.kind == "stock"]
    assert {m.group_id for m in stock_posts} == {G1, G2} and len(
        stock_posts
    ) == 2  # one warehouse, both groups
    assert all("A1 丹东草莓 ¥10.00/盒 · 仅剩1件" in m.text for m in stock_posts)


async def test_leader_shows_and_restocks(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=3, limit=5))
    await shop.open()
    await shop.say("A1 3", "a")
    shop.transport.clear()
    await shop.say("/stock", "lily")
    assert "当前库存" in shop.texts()[-1] and "A1 丹东草莓 ¥10.00/盒 · 已售罄" in shop.texts()[-1]
    await shop.say("/stock A1 +20", "lily")
    assert shop.stock() == 20
    assert any("补货啦！A1 丹东草莓 新到 20 件，现有 20 件" in t for t in shop.texts(G1))
    assert any("补货啦" in t for t in shop.texts(G2))  # shared stock: every group hears it
    await shop.say("A1 2", "b")
    assert shop.stock() == 18
    await shop.say("/stock A1 20", "lily")
    assert "用法：/stock" in shop.texts()[-1]
    await shop.say("/stock Z9", "lily")
    assert "没有商品编号 Z9" in shop.texts()[-1]
    await shop.say("/stock A1 +5", "a")  # members may not restock
    assert shop.stock() == 18


async def test_a_threshold_crossed_renders_the_stock_board_once_for_every_group(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The news is the same in every group: with 1,000 groups, rendering it per group held the
    event loop for 60-70 ms after the batch that sold the product out (docs/performance.md)."""
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=10, limit=10))
    await shop.open()
    clock.advance(300)
    shop.transport.clear()
    renderer = shop.app.services.renderer
    rendered: list[str] = []
    render = renderer.render

    def counting(template: str, **variables: object) -> str:
        rendered.append(template)
        return render(template, **variables)

    renderer.render = counting  # type: ignore[method-assign]
    await shop.say("A1 9", "a")  # 1 left: below 20% in every group at once
    stock_posts = [m for m in shop.transport.sent if m.kind == "stock"]
    assert {m.group_id for m in stock_posts} == {G1, G2}
    assert len({m.text for m in stock_posts}) == 1
    assert rendered.count("stock/board.j2") == 1


async def test_a_sell_out_over_hundreds_of_groups_is_posted_in_steps_with_chat_read_between(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Posting the news into 1,000 groups in one step stalled the loop 20-60 ms in a flood
    (docs/performance.md): the pass yields every `PASS_CHUNK` groups, and every group still
    hears it once, before the writer settles."""
    import asyncio

    from handlers.selling.announcer import PASS_CHUNK

    groups = tuple(f"g{n}@chatroom" for n in range(2 * PASS_CHUNK + 50))
    shop = build_shop(tmp_path, clock, text=campaign_text(groups=groups, a1=10, limit=10))
    await shop.open()
    clock.advance(300)
    await shop.drain()
    announcer = shop.sell.announcer
    told: list[int] = []

    def tick() -> None:
        told.append(sum(1 for board in announcer.boards.values() if board.outbox_id is not None))
        if told[-1] < len(groups):
            asyncio.get_running_loop().call_soon(tick)

    await shop.app.handle_event(shop.message("A1 10", "a", group=groups[0]))
    asyncio.get_running_loop().call_soon(tick)
    await shop.app.services.settle()
    assert {PASS_CHUNK, 2 * PASS_CHUNK} <= set(told)  # the loop ran between the steps
    assert told[-1] == len(groups)
    await shop.drain()
    stock_posts = [m for m in shop.transport.sent if m.kind == "stock"]
    assert sorted(m.group_id for m in stock_posts) == sorted(groups)
    assert all("已抢光" in m.text or "售罄" in m.text for m in stock_posts), stock_posts[0].text


async def test_a_failed_stock_post_pass_still_tells_the_other_features(
    tmp_path: Path, clock: FakeClock
) -> None:
    """What the features decided in the batch's transaction is committed: they hear of it even
    when the stock posts that come first fail."""
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=10, limit=10))
    await shop.open()
    told: list[int] = []

    def broken(campaign_id: str) -> Iterator[None]:
        yield
        raise RuntimeError("stock post pass")

    shop.sell.announcer.after_sales = broken  # type: ignore[method-assign]
    shop.sell.committed.append(lambda ops, results: told.append(len(ops)))
    await shop.say("A1 9", "a")
    assert told == [1]
    assert shop.stock("A1") == 1
