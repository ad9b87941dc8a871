"""Red-packet rain: campaign bursts and /redpacket, grabs, one win each, results, late grabs, audit."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from handlers.coupons.wallet import CouponStore, make_wallet
from handlers.redpacket.chat import close_burst, close_job_id
from handlers.redpacket.jobs import job_close_redpacket
from handlers.redpacket.memory import seed_splits
from handlers.redpacket.service import RedPacketStore
from schedules import runtime
from tests.conftest import make_config
from tests.engagement.support import CAMPAIGN_ID, GROUP, OPENS_AT, say, with_campaign

BURST = f"{CAMPAIGN_ID}:redpacket-T-10m:{GROUP}"


async def start_campaign_burst(app, clock, tmp_path):
    registry = with_campaign(app, tmp_path)
    seed_splits(app.services, random.Random(3))
    clock.set(OPENS_AT - timedelta(minutes=10))
    outcome = await registry.run_node(CAMPAIGN_ID, "redpacket-T-10m")
    assert outcome is not None and outcome.posted == 2
    await app.services.outbox.drain()  # grabs count once the group has seen the burst (issue 13.13)
    return registry


async def test_campaign_burst_winners_and_best_luck(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    registry = await start_campaign_burst(app, clock, tmp_path)
    await app.services.outbox.drain()
    assert "红包雨来啦" in transport.texts(GROUP)[0] and "「抢」" in transport.texts(GROUP)[0]
    # the window-end job is scheduled with a deterministic id
    job = registry.scheduler.get_job(close_job_id(BURST))
    assert job is not None and job.args == (BURST,)
    store = RedPacketStore(app.services.repo.engine)
    burst = store.get(BURST)
    assert (
        burst is not None and burst.packets == 20 and burst.budget_cents == 5000 and sum(burst.shares) == 5000
    )
    for i in range(20):
        await transport.inject(say(clock, "抢", f"m{i}", name=f"团员{i}"), drain=False)
    await app.services.outbox.drain()
    results = transport.texts(GROUP)[-1]
    assert "红包雨结束" in results and "手气最佳" in results and results.count("¥") >= 21
    winners = store.winners(BURST)
    assert [w.seq for w in winners] == list(range(1, 21))
    assert sum(w.amount_cents for w in winners) == 5000
    best = max(winners, key=lambda w: (w.amount_cents, -w.seq))
    assert f"手气最佳：{best.name}" in results
    # each winner holds the share as coupon credit for this campaign, valid until closing
    wallet = make_wallet(app.services)
    [offer] = wallet.usable("m0", CAMPAIGN_ID, clock.now())
    assert offer.amount_cents == winners[0].amount_cents and offer.min_spend_cents == 0
    assert offer.title.startswith("红包券")
    # the job that runs at the end of the window finds it closed and posts nothing more
    sent = len(transport.sent)
    assert not close_burst(app.services, BURST)
    assert len(transport.sent) == sent


async def test_one_win_per_member_per_burst(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    await start_campaign_burst(app, clock, tmp_path)
    for _ in range(5):
        await transport.inject(say(clock, "抢", "greedy"), drain=False)
    await app.services.outbox.drain()
    store = RedPacketStore(app.services.repo.engine)
    assert [w.member_id for w in store.winners(BURST)] == ["greedy"]
    assert sum("已经抢到" in t for t in transport.texts(GROUP)) == 1  # told once, not five times


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_thousand_concurrent_grabs_take_exactly_n_packets(
    make_app, clock, tmp_path, request, db
) -> None:
    url = None if db == "sqlite" else request.getfixturevalue("pg_url")
    app, transport = make_app(cfg=make_config(tmp_path, db_url=url))
    await start_campaign_burst(app, clock, tmp_path)
    events = [say(clock, "抢", f"m{i % 300}") for i in range(1000)]
    await asyncio.gather(*(transport.inject(e, drain=False) for e in events))
    await app.services.outbox.drain()
    winners = RedPacketStore(app.services.repo.engine).winners(BURST)
    assert len(winners) == 20 and len({w.member_id for w in winners}) == 20
    assert sum(w.amount_cents for w in winners) == 5000
    texts = transport.texts(GROUP)
    assert sum("红包雨结束" in t for t in texts) == 1
    assert len(texts) < 60  # refusals are combined


async def test_window_end_job_posts_results_and_late_grabs_are_refused(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    await start_campaign_burst(app, clock, tmp_path)
    for member in ["a", "b", "c"]:
        await transport.inject(say(clock, "抢", member))
    clock.advance(61)
    runtime.install(app, app.services, app.services.campaigns)
    try:
        await job_close_redpacket(BURST)
        await job_close_redpacket(BURST)  # a repeated run is harmless
    finally:
        runtime.uninstall()
    await app.services.outbox.drain()
    texts = transport.texts(GROUP)
    assert sum("红包雨结束" in t for t in texts) == 1
    assert "还有 17 个红包" in texts[-1]
    await transport.inject(say(clock, "抢", "latecomer", name="迟到的"))
    await transport.inject(say(clock, "抢", "latecomer2", name="又迟到"))
    assert "手慢了" in transport.texts(GROUP)[-1] and "已经结束" in transport.texts(GROUP)[-1]
    assert len(RedPacketStore(app.services.repo.engine).winners(BURST)) == 3
    # long after the burst, the keyword is ordinary chat again
    clock.advance(3600)
    sent = len(transport.sent)
    await transport.inject(say(clock, "抢", "someone"))
    assert len(transport.sent) == sent


async def test_a_grab_after_the_window_closes_the_burst_even_without_the_job(
    make_app, clock, tmp_path
) -> None:
    app, transport = make_app()
    await start_campaign_burst(app, clock, tmp_path)
    await transport.inject(say(clock, "抢", "a"))
    clock.advance(120)
    await transport.inject(say(clock, "抢", "late"))
    texts = transport.texts(GROUP)
    assert any("红包雨结束" in t for t in texts) and "手慢了" in texts[-1]
    assert [w.member_id for w in RedPacketStore(app.services.repo.engine).winners(BURST)] == ["a"]


async def test_all_packets_gone_says_so(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 2 1", "lily"))
    for member in ["a", "b", "c"]:
        await transport.inject(say(clock, "抢", member))
    texts = transport.texts(GROUP)
    assert "团长发红包雨啦" in texts[0] and "¥1" in texts[0]
    assert any("红包雨结束" in t for t in texts)
    assert "已经被抢光" in texts[-1]


async def test_leader_burst_without_campaign_pays_credit_for_a_week_and_is_audited(make_app, clock) -> None:
    app, transport = make_app()
    seed_splits(app.services, random.Random(5))
    await transport.inject(say(clock, "/redpacket 3 ¥9.99 发财 30s", "lily"))
    assert "「发财」" in transport.texts(GROUP)[-1] and "30秒" in transport.texts(GROUP)[-1]
    await transport.inject(say(clock, "抢", "a"))  # not this burst's keyword: ordinary chat
    for member in ["a", "b"]:
        await transport.inject(say(clock, "发财！", member))
    store = CouponStore(app.services.repo.engine)
    [coupon] = store.member_coupons("a", clock.now())
    assert coupon.campaign_id == "" and coupon.valid_until is not None
    assert coupon.valid_until - coupon.valid_from == timedelta(days=7)
    assert make_wallet(app.services).usable("a", "any-campaign", clock.now())  # usable in every campaign
    await transport.inject(say(clock, "/redpacket log", "lily"))
    log = transport.private_texts("lily")[-1]  # ids and codes go privately (issue 13.4)
    burst = RedPacketStore(app.services.repo.engine).recent(GROUP)[0]
    assert "进行中" in log and "2 人抢到" in log and coupon.code in log
    assert all(f"¥{s / 100:.2f}".replace(".00", "") in log for s in burst.shares)


@pytest.mark.parametrize(
    "command",
    [
        "/redpacket",
        "/redpacket 3",
        "/redpacket x 5",
        "/redpacket 0 5",
        "/redpacket 3 abc",
        "/redpacket 3 1.234",
        "/redpacket 3 5 抢 soon",
    ],
)
async def test_malformed_commands_get_the_usage(make_app, clock, command) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, command, "lily"))
    assert "用法" in transport.texts(GROUP)[-1]
    assert RedPacketStore(app.services.repo.engine).recent(GROUP) == []


async def test_budget_too_small_or_too_big(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 10 0.05", "lily"))
    assert "每个至少 ¥0.01" in transport.texts(GROUP)[-1]
    await transport.inject(say(clock, "/redpacket 10 99999", "lily"))
    assert "不超过 ¥2000" in transport.texts(GROUP)[-1]


async def test_one_open_burst_per_keyword(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 3 5", "lily"))
    await transport.inject(say(clock, "/redpacket 3 5", "lily"))
    assert "还有一轮红包雨正在进行" in transport.texts(GROUP)[-1]


async def test_members_cannot_start_bursts(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 3 5", "alice"))
    assert RedPacketStore(app.services.repo.engine).recent(GROUP) == []


async def test_winner_names_are_echoed_literally(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 1 5", "lily"))
    await transport.inject(say(clock, "抢", "evil", name="{{ 7*7 }}"))
    assert "{{ 7*7 }}" in transport.texts(GROUP)[-1] and "49" not in transport.texts(GROUP)[-1]


async def test_a_burst_nobody_grabbed_ends_silently(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 3 5", "lily"))
    [burst] = RedPacketStore(app.services.repo.engine).recent(GROUP)
    clock.advance(61)
    sent = len(transport.sent)
    assert close_burst(app.services, burst.id)
    await app.services.outbox.drain()
    assert len(transport.sent) == sent
    await transport.inject(say(clock, "/redpacket log", "lily"))
    log = transport.private_texts("lily")[-1]  # ids and codes go privately (issue 13.4)
    assert "已结束" in log and "0 人抢到" in log


async def test_chat_reads_no_bursts_yet_a_new_burst_keyword_works_at_once(make_app, clock) -> None:
    """Short chat used to cost a burst query per message; the keywords now live in memory."""
    app, transport = make_app()
    seed_splits(app.services, random.Random(5))
    queries: list[str] = []

    def note(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "redpacket_burst" in statement:
            queries.append(statement)

    sa.event.listen(app.services.repo.engine, "before_cursor_execute", note)
    await transport.inject(say(clock, "发财", "a"))  # before any burst: ordinary chat
    first = len(queries)
    for i in range(20):
        await transport.inject(say(clock, f"好的{i}", "b"))
    assert len(queries) == first  # twenty short messages, no burst query
    await transport.inject(say(clock, "/redpacket 3 ¥9.99 发财 30s", "lily"))
    await transport.inject(say(clock, "发财", "a"))
    assert (
        RedPacketStore(app.services.repo.engine)
        .winners(RedPacketStore(app.services.repo.engine).recent(GROUP)[0].id)[0]
        .member_id
        == "a"
    )


async def test_the_log_of_ids_and_codes_goes_privately_to_the_leader(make_app, clock) -> None:
    """Issue 13.4: `/redpacket log` lists member ids and coupon codes, so never in the group."""
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 2 5", "lily"))
    await transport.inject(say(clock, "抢", "alice_wx01", name="爱丽丝"))
    [code] = [c.code for c in CouponStore(app.services.repo.engine).member_coupons("alice_wx01", clock.now())]
    group_before = transport.texts(GROUP)
    await transport.inject(say(clock, "/redpacket log", "lily"))
    assert transport.texts(GROUP) == group_before
    assert not any("alice_wx01" in t or code in t for t in transport.texts(GROUP))
    [log] = transport.private_texts("lily")
    assert "alice_wx01" in log and code in log and "团购一群" in log


async def test_no_grab_counts_before_the_burst_announcement_has_left(make_app, clock, tmp_path) -> None:
    """Issue 13.13: a packet was won in a group before that group had seen the burst announced."""
    app, transport = make_app()
    registry = with_campaign(app, tmp_path)
    seed_splits(app.services, random.Random(3))
    clock.set(OPENS_AT - timedelta(minutes=10))
    await registry.run_node(CAMPAIGN_ID, "redpacket-T-10m")  # announcement queued, not sent yet
    store = RedPacketStore(app.services.repo.engine)
    await transport.inject(say(clock, "抢", "early"), drain=False)
    assert store.winners(BURST) == []
    await app.services.outbox.drain()
    assert "红包雨来啦" in transport.texts(GROUP)[0]
    await transport.inject(say(clock, "抢", "early"))
    assert [w.member_id for w in store.winners(BURST)] == ["early"]


async def test_a_leaders_burst_takes_grabs_only_once_announced(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "/redpacket 3 5", "lily"), drain=False)
    await transport.inject(say(clock, "抢", "early"), drain=False)
    [burst] = RedPacketStore(app.services.repo.engine).recent(GROUP)
    assert RedPacketStore(app.services.repo.engine).winners(burst.id) == []
    await app.services.outbox.drain()
    await transport.inject(say(clock, "抢", "early"))
    assert [w.member_id for w in RedPacketStore(app.services.repo.engine).winners(burst.id)] == ["early"]
