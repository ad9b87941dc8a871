"""The order handler's matcher (`handlers.selling.intents.match_order`): chatter runs no order
handler body and no database statement on the event loop; orders still go through unchanged."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from bot.campaign.runtime import CampaignRuntime
from bot.feature import Feature
from handlers.selling.feature import FEATURE as SELLING
from handlers.selling.intents import DEFER, OrderIntent, match_order
from handlers.selling.service import Selling, selling
from tests.bot.test_hot_path_no_db import LoopStatements
from tests.conftest import AppFactory
from tests.engagement.support import CAMPAIGN_ID, say, with_campaign
from tests.fakes import FakeClock, FakeTransport

CHATTER = ("哈哈哈哈哈，今天天气真好", "早上好", "[图片]", "谢谢团长👍", "明天见～")


async def _open_shop(make_app: AppFactory, tmp_path: Path) -> tuple[App, FakeTransport, CampaignRuntime]:
    app, transport = make_app([SELLING])
    registry = with_campaign(app, tmp_path)
    await registry.run_node(CAMPAIGN_ID, "open")
    await app.services.outbox.drain()
    return app, transport, registry


async def test_chatter_in_an_open_group_runs_no_order_handler_body(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, transport, _ = await _open_shop(make_app, tmp_path)
    for text in CHATTER:
        result = await transport.inject(say(clock, text))
        assert result.ran == 0 and result.handled_by == "", text


async def test_an_order_reaches_the_body_with_its_parsed_intent(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, transport, _ = await _open_shop(make_app, tmp_path)
    result = await transport.inject(say(clock, "接龙 A1 1"))
    assert result.handled_by == "handlers.selling.orders.handle_order"
    [line] = [o for o in app.services.find(Selling).store.orders(CAMPAIGN_ID)]  # type: ignore[union-attr]
    assert (line.member_id, line.product_code, line.quantity) == ("alice", "A1", 1)


async def test_the_matcher_decides_from_memory(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, _, _ = await _open_shop(make_app, tmp_path)
    view = app.services.view_of
    recorder = LoopStatements(app)
    recorder.recording = True
    try:
        chatter = [match_order(m, view(m)) for m in (say(clock, t) for t in CHATTER)]
        order = match_order(say(clock, "A1 2"), view(say(clock, "A1 2")))
    finally:
        recorder.close()
    assert chatter == [None] * len(CHATTER)
    assert isinstance(order, OrderIntent) and order.status == "open" and order.parsed is not None
    assert recorder.seen == [], "\n".join(recorder.seen)


async def test_a_fresh_app_reads_no_group_state_on_the_loop_for_chatter(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    """After a restart the group's ordering state comes from the one query at build, not per group."""
    app, _, _ = await _open_shop(make_app, tmp_path)
    await app.services.settle()
    app.flush_inbound()
    app.services.repo.engine.dispose()
    fresh, transport = make_app([SELLING])
    with_campaign(fresh, tmp_path)
    await fresh.handle_event(say(clock, "早上好", "bob"))  # bob is known: the check is about selling
    fresh.flush_inbound()
    recorder = LoopStatements(fresh)
    recorder.recording = True
    try:
        result = await fresh.handle_event(say(clock, "哈哈哈哈哈，今天天气真好", "bob"))
    finally:
        recorder.recording = False
        recorder.close()
        fresh.flush_inbound()
    assert result.ran == 0
    assert recorder.seen == [], "\n".join(recorder.seen)


async def test_a_product_named_in_chatter_is_remembered_for_a_following_plus_one(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app, transport, _ = await _open_shop(make_app, tmp_path)
    sell = app.services.find(Selling)
    assert sell is not None
    code = sell.catalog(sell.pick("团购一群")[0]).codes[1]  # type: ignore[index]
    result = await transport.inject(say(clock, f"{code}怎么样，好吃吗"))
    assert result.ran == 1 and result.handled_by == ""  # the body remembers it and declines
    await transport.inject(say(clock, "+1"))
    assert [o.product_code for o in sell.store.orders(CAMPAIGN_ID)] == [code]


async def test_without_the_features_setup_the_body_decides_as_before(
    make_app: AppFactory, clock: FakeClock, tmp_path: Path
) -> None:
    """No bulk state load (a feature built from the modules alone): the matcher defers to the body."""
    bare = Feature("selling-bare", SELLING.modules, SELLING.node_runners, SELLING.node_hooks)
    app, transport = make_app([bare])
    registry = with_campaign(app, tmp_path)
    await registry.run_node(CAMPAIGN_ID, "open")
    for text in ("A1 2", "哈哈"):
        assert match_order(say(clock, text), app.services.view_of(say(clock, text))) is DEFER
    assert (await transport.inject(say(clock, "哈哈"))).handled_by == ""
    result = await transport.inject(say(clock, "A1 2"))
    assert result.handled_by == "handlers.selling.orders.handle_order"
    assert [o.quantity for o in selling(app.services).store.orders(CAMPAIGN_ID)] == [2]
