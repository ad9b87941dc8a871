"""Issue 13.13 (orders part): a reply is never stale when it leaves, and nobody is named twice."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from bot.events import Outgoing
from bot.transports.simulator import SimulatorTransport
from tests.commerce.selling_kit import G1, OPENS, build_shop
from tests.fakes import FakeClock


async def test_a_pre_open_reply_still_queued_at_open_now_says_the_sale_is_open(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(minutes=20))
    await shop.say("A1 2", "alice", drain=False)  # "还没开团哦" waits for its notice window
    await shop.say("/open", "lily", drain=False)  # the leader opens early before it left
    await shop.drain()
    texts = shop.texts(G1)
    opened = next(i for i, t in enumerate(texts) if "开团" in t and "还没开团" not in t)
    assert not any("还没开团" in t for t in texts[opened:]), texts
    # alice's early order was not taken: she is told the sale is open now, not left guessing
    assert any("现在已经开团" in t and "重新发" in t and "@alice" in t for t in texts), texts
    await shop.say("A1 2", "alice")  # and ordering now works
    assert shop.stock("A1") == 8


async def test_a_pre_open_reply_that_left_before_the_open_stays(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(minutes=20))
    await shop.say("A1 2", "alice")
    await shop.say("取消 A2", "bob", drain=False)  # any other notice in the same window is not dropped
    await shop.open()
    texts = shop.texts(G1)
    assert any("还没开团" in t and "@alice" in t for t in texts)
    assert any("没有可以取消" in t and "@bob" in t for t in texts)


async def test_cancelling_everything_never_posts_an_empty_chain_list(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice", drain=False)
    await shop.say("取消全部", "alice", drain=False)  # before the list left
    await shop.drain()
    await shop.say("A2 1", "bob")
    await shop.say("取消全部", "bob")  # after the list left
    chains = [m.text for m in shop.transport.sent if m.kind == "chain"]
    assert chains and all("×" in t.split("合计：")[1].splitlines()[0] for t in chains), chains
    assert any("已取消 A1×2" in t for t in shop.texts()) and any("已取消 A2×1" in t for t in shop.texts())


async def test_the_simulator_does_not_name_a_member_twice(clock: FakeClock) -> None:
    shown: list[str] = []
    sim = SimulatorTransport(clock=clock, stream=io.StringIO(""), out=shown.append, prompt=False)
    sim.parser.parse("alice(张三)@团购一群: 你好")
    await sim.send(Outgoing(text="⏳ 还没开团哦 @张三", group_id=G1, mentions=("alice",)))
    await sim.send(Outgoing(text="⏳ 还没开团哦 @bob", group_id=G1, mentions=("bob",)))
    await sim.send(Outgoing(text="你的订单", group_id=G1, mentions=("carol",)))
    assert shown[0].count("@") == 1 and shown[1].count("@bob") == 1 and "@carol 你的订单" in shown[2]
