"""A member's reply with a code runs no database statement on the event loop (issue 14's rule):
the matcher reads codes from memory and the reply row is written behind."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_hot_path_no_db import LoopStatements
from tests.broadcast.kit import G1, broadcast_shop, code_of
from tests.factories import group_message
from tests.fakes import FakeClock


async def test_code_reply_and_plain_chatter_run_no_statement_on_the_loop(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = broadcast_shop(tmp_path, clock)
    await shop.say("/broadcast now #fruit 开团啦", "lily", G1)
    code = code_of(shop.texts(G1)[-1])
    app = shop.app
    await app.handle_event(group_message("你好", "alice", group=G1, at=clock.now()))
    app.flush_inbound()
    clock.advance(120)
    recorder = LoopStatements(app, within="handlers/broadcast")
    recorder.recording = True
    try:
        result = await app.handle_event(group_message(f"{code} 报名", "alice", group=G1, at=clock.now()))
        await app.handle_event(group_message("今天天气不错 ABCDE", "alice", group=G1, at=clock.now()))
    finally:
        recorder.recording = False
        recorder.close()
    assert recorder.seen == []
    assert "handlers.broadcast.chat.handle_code_reply" in str(result)
    app.flush_inbound()
    from handlers.broadcast.service import broadcasts_of

    row = broadcasts_of(app.services).row(1)
    assert row is not None and row.replies == {G1: 1}
