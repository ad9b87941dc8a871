"""The after-sales matchers and bodies run no database statement on the event loop."""

from __future__ import annotations

from handlers.aftersales.keywords import complaint_keyword
from tests.aftersales.kit import sale
from tests.factories import private_message
from tests.handlers.test_hot_path_features import LoopStatements


async def test_complaints_questions_and_digits_cost_no_statement_on_the_loop(tmp_path, clock) -> None:
    s = await sale(tmp_path, clock, buyers=("alice",))
    await s.say("大家好", "bob")  # the bot has seen bob once: the common case
    s.app.flush_inbound()
    recorder = LoopStatements(s.app)
    try:
        recorder.recording = True
        for member, text in [
            ("bob", "坏果怎么办"),
            ("bob", "我的草莓有两个坏果"),
            ("alice", "我的草莓有两个坏果"),
        ]:
            await s.app.handle_event(s.shop.message(text, member))
            clock.advance(61)
        for member, text in [("bob", "3"), ("carol", "少发了一盒")]:
            await s.app.handle_event(private_message(text, member, at=clock.now()))
        await s.services.settle()
        recorder.recording = False
    finally:
        recorder.close()
    ours = [line for line in recorder.seen if "handlers/aftersales/" in line]
    assert ours == [], "\n".join(ours)
    assert recorder.off_loop > 0  # the orders were looked up, in a worker thread
    assert [t.member_id for t in s.tickets()] == ["alice"]
    assert complaint_keyword("我的草莓有两个坏果") == "坏果"
