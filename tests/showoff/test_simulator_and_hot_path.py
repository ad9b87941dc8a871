"""晒单 typed in the simulator's syntax (`alice@团购一群: [图片]`) reaches the reward end to end, and
the feature runs no statement on the event loop: chatter never reaches it, pictures are counted
in a worker thread (tests/bot/test_hot_path_no_db.py's recorder)."""

from __future__ import annotations

from pathlib import Path

from bot.events import GroupMessage
from bot.transports.simulator import LineParser
from handlers.showoff.chat import store_of
from tests.bot.test_hot_path_no_db import LoopStatements
from tests.commerce.selling_kit import G1, G2
from tests.fakes import FakeClock
from tests.showoff.kit import coupons_of, picture, sold_shop


async def test_pictures_typed_in_the_simulator_are_rewarded(tmp_path: Path, clock: FakeClock) -> None:
    shop = await sold_shop(tmp_path, clock, {"alice": G1, "bob": G2})
    parser = LineParser(clock, {"团购小助手"})
    for line in (
        f"alice(小爱)@{G1}: [图片]",
        f"bob@{G2}: [image]",
        f"alice@{G1}: [图片]",
        f"carol@{G1}: [图片]",
    ):
        event = parser.parse(line).event
        assert isinstance(event, GroupMessage) and event.kind == "image"
        await shop.transport.inject(event, drain=False)
    await shop.drain()
    assert store_of(shop.app.services).ranks("t1") == {"alice": 1, "bob": 2}
    assert len(coupons_of(shop, "alice")) == 1
    [thanks] = [t for t in shop.texts(G1) if "晒单有礼" in t]
    assert "小*" in thanks and "小爱" not in thanks
    assert any("第 1 位" in t for t in shop.transport.private_texts("alice"))


async def test_chatter_and_pictures_run_no_statement_on_the_loop(tmp_path: Path, clock: FakeClock) -> None:
    shop = await sold_shop(tmp_path, clock, {"alice": G1})
    await shop.say("早上好", "alice")  # a member the bot has seen
    shop.app.flush_inbound()
    everything, ours = LoopStatements(shop.app), LoopStatements(shop.app, within="handlers/showoff")
    try:
        everything.recording = ours.recording = True
        chatter = await shop.app.handle_event(shop.message("哈哈，收到货了", "alice"))
        everything.recording = False
        assert chatter.handled_by == "" and everything.seen == [], "\n".join(everything.seen)
        result = await picture(shop, "alice")
        ours.recording = False
    finally:
        everything.close()
        ours.close()
    assert result.handled_by == "handlers.showoff.chat.handle_showoff"
    assert ours.seen == [], "\n".join(ours.seen)
    assert store_of(shop.app.services).ranks("t1") == {"alice": 1}  # it did write, off the loop
