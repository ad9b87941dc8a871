"""The points feature runs no statement on the event loop: chatter is told apart in memory, and
签到 and 我的积分 read and write in a worker thread (tests/bot/test_hot_path_no_db.py's recorder)."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from handlers.points.ledger import points_of
from handlers.points.redeem import RedeemPurse
from tests.bot.test_hot_path_no_db import LoopStatements
from tests.conftest import AppFactory
from tests.engagement.support import CAMPAIGN_ID, SAMPLE, say, with_campaign
from tests.fakes import FakeClock


async def loop_statements(app: App, clock: FakeClock, text: str) -> tuple[list[str], list[str], str]:
    """(statements on the loop from any code, those with a points frame, the handler) for `text`."""
    everything, ours = LoopStatements(app), LoopStatements(app, within="handlers/points")
    try:
        await app.handle_event(say(clock, "早上好", "alice"))  # a member the bot has seen
        await app.services.outbox.drain()
        app.flush_inbound()
        clock.advance(120)
        everything.recording = ours.recording = True
        result = await app.handle_event(say(clock, text, "alice"))
        everything.recording = ours.recording = False
        return everything.seen, ours.seen, result.handled_by
    finally:
        everything.close()
        ours.close()
        app.flush_inbound()


async def test_chatter_checkin_and_my_points_run_no_statement_on_the_loop(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, _ = make_app()
    registry = with_campaign(app, tmp_path)
    await registry.run_node(CAMPAIGN_ID, "open")
    await app.services.outbox.drain()

    seen, ours, handled_by = await loop_statements(app, clock, "哈哈哈，今天天气真好")
    assert seen == [] and handled_by == "", "\n".join(seen)

    seen, ours, handled_by = await loop_statements(app, clock, "签到")
    assert handled_by == "handlers.points.chat.handle_checkin"
    assert ours == [], "\n".join(ours)
    assert points_of(app.services).balance("alice") == 5  # it did write, off the loop

    seen, ours, handled_by = await loop_statements(app, clock, "我的积分")
    assert handled_by == "handlers.points.chat.handle_my_points"
    assert ours == [], "\n".join(ours)


async def test_redeem_words_run_no_statement_on_the_loop(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, _ = make_app()
    text = SAMPLE.read_text(encoding="utf-8") + "\npoints:\n  redeem: {rate: 100, max_yuan: 20}\n"
    registry = with_campaign(app, tmp_path, text)
    await registry.run_node(CAMPAIGN_ID, "open")
    await app.services.outbox.drain()

    seen, ours, handled_by = await loop_statements(app, clock, "积分抵扣")
    assert handled_by == "handlers.points.redeem_chat.handle_redeem_on"
    assert ours == [], "\n".join(ours)
    assert RedeemPurse(app.services).offer("alice", CAMPAIGN_ID) is not None  # it did write, off the loop

    seen, ours, handled_by = await loop_statements(app, clock, "不用积分")
    assert handled_by == "handlers.points.redeem_chat.handle_redeem_off"
    assert ours == [], "\n".join(ours)
    assert RedeemPurse(app.services).offer("alice", CAMPAIGN_ID) is None

    seen, ours, handled_by = await loop_statements(app, clock, "积分抵扣怎么用啊，有人知道吗")
    assert handled_by != "handlers.points.redeem_chat.handle_redeem_on" and ours == []
