"""Keyword coupons: claim, limits, quota under a burst, expiry, widths, 我的优惠券, the wallet."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from handlers.coupons.wallet import CouponStore, EngagementWallet, make_wallet
from handlers.selling.discounts import CouponWallet
from tests.conftest import make_config
from tests.engagement.support import CAMPAIGN_ID, CLOSES_AT, GROUP, OPENS_AT, say, texts_since, with_campaign

CODE_RE = re.compile(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")


def sample_with(quota: int, per_member: int = 1, match: str = "exact", keyword: str = "草莓券") -> str:
    from tests.engagement.support import SAMPLE

    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("    quota: 100             # 共 100 张 / 100 in total", f"    quota: {quota}")
    text = text.replace(
        "    per_member: 1\n    products: [A1]", f"    per_member: {per_member}\n    products: [A1]"
    )
    text = text.replace("    match: exact ", f"    match: {match} ")
    return text.replace("keyword: 草莓券", f"keyword: {keyword}")


async def test_keyword_issues_a_coupon_and_a_second_try_says_already(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "草莓券", "alice", name="爱丽丝"))
    [receipt] = transport.texts(GROUP)
    assert "爱丽丝" in receipt and "满¥50.00减¥8.00" in receipt and "丹东99红颜草莓" in receipt
    assert "12月6日 22:00 前有效" in receipt
    store = CouponStore(app.services.repo.engine)
    [coupon] = store.member_coupons("alice", clock.now())
    assert CODE_RE.fullmatch(coupon.code) and coupon.amount_cents == 800 and coupon.products == ("A1",)
    assert coupon.valid_until == CLOSES_AT
    clock.advance(5)
    await transport.inject(say(clock, "草莓券", "alice", name="爱丽丝"))
    assert "已经领过" in transport.texts(GROUP)[-1]
    assert len(store.member_coupons("alice", clock.now())) == 1


@pytest.mark.parametrize("typed", ["草莓券", " 草莓券！", "草莓券🍓", "草莓券\u3000"])
async def test_exact_keyword_tolerates_spaces_and_trailing_punctuation(
    make_app, clock, tmp_path, typed
) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, typed))
    assert CouponStore(app.services.repo.engine).issued_count(CAMPAIGN_ID, "strawberry") == 1


async def test_exact_keyword_is_not_triggered_inside_a_sentence(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "草莓券怎么领"))  # a question for the FAQ, not a claim
    assert CouponStore(app.services.repo.engine).issued_count(CAMPAIGN_ID, "strawberry") == 0


async def test_case_and_width_insensitive_contains_match(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path, sample_with(100, match="contains", keyword="VIP券"))
    await transport.inject(say(clock, "我要ｖｉｐ券，谢谢", "bob"))
    await transport.inject(say(clock, "Vip券", "carol"))
    assert CouponStore(app.services.repo.engine).issued_count(CAMPAIGN_ID, "strawberry") == 2


async def test_exhausted_is_said_once_not_to_every_asker(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path, sample_with(2))
    for member in ["m1", "m2", "m3", "m4", "m5"]:
        await transport.inject(say(clock, "草莓券", member))
    texts = transport.texts(GROUP)
    assert sum("已经领完" in t for t in texts) == 1
    assert CouponStore(app.services.repo.engine).issued_count(CAMPAIGN_ID, "strawberry") == 2


async def test_per_member_limit_above_one(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path, sample_with(100, per_member=2))
    for _ in range(4):
        await transport.inject(say(clock, "草莓券", "alice"))
    assert CouponStore(app.services.repo.engine).issued_count(CAMPAIGN_ID, "strawberry") == 2


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_quota_and_per_member_limit_hold_under_a_thousand_concurrent_claims(
    make_app, clock, tmp_path, request, db
) -> None:
    url = None if db == "sqlite" else request.getfixturevalue("pg_url")
    app, transport = make_app(cfg=make_config(tmp_path, db_url=url))
    with_campaign(app, tmp_path, sample_with(300))
    # 1,000 claims from 500 members (each asks twice), all dispatched before anything is sent.
    events = [say(clock, "草莓券", f"m{i % 500}") for i in range(1000)]
    await asyncio.gather(*(transport.inject(e, drain=False) for e in events))
    await app.services.outbox.drain()
    store = CouponStore(app.services.repo.engine)
    assert store.issued_count(CAMPAIGN_ID, "strawberry") == 300
    holders = [len(store.held(CAMPAIGN_ID, "strawberry", f"m{i}")) for i in range(500)]
    assert max(holders) == 1 and sum(holders) == 300
    texts = transport.texts(GROUP)
    assert sum("已经领完" in t for t in texts) == 1
    # the receipts were combined, not one message per claim
    assert len([t for t in texts if "领到了" in t]) < 50


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_claims_from_many_threads_never_exceed_the_quota(tmp_path, request, db) -> None:
    """Real concurrency (threads, separate connections) against the store itself."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.storage.engine import init_db, make_engine
    from handlers.coupons.wallet import CouponSpec

    url = f"sqlite:///{tmp_path / 't.db'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    init_db(engine)
    store = CouponStore(engine)
    spec = CouponSpec("c", "k", 500, 0, OPENS_AT, CLOSES_AT, quota=40, per_member=1)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(lambda i: store.claim(spec, f"m{i % 60}", GROUP, OPENS_AT).status, range(200))
        )
    assert results.count("issued") == 40
    assert store.issued_count("c", "k") == 40
    assert all(len(store.held("c", "k", f"m{i}")) <= 1 for i in range(60))
    engine.dispose()


async def test_claims_end_with_the_coupon_validity(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "草莓券", "alice"))
    store = CouponStore(app.services.repo.engine)
    assert store.member_coupons("alice", clock.now())
    clock.set(CLOSES_AT + timedelta(seconds=1))
    assert store.member_coupons("alice", clock.now()) == []  # expired
    wallet = make_wallet(app.services)
    assert wallet.usable("alice", CAMPAIGN_ID, clock.now()) == []
    start = len(transport.sent)
    await transport.inject(say(clock, "草莓券", "bob"))  # campaign over: the keyword is just chat
    assert store.issued_count(CAMPAIGN_ID, "strawberry") == 1
    assert not any("领到了" in t for t in texts_since(transport, start))


async def test_claim_after_valid_until_but_before_close_is_refused(make_app, clock, tmp_path) -> None:
    from tests.engagement.support import SAMPLE

    app, transport = make_app()
    text = SAMPLE.read_text(encoding="utf-8").replace("    valid_until: C\n", "    valid_until: T+1h\n")
    with_campaign(app, tmp_path, text)
    clock.set(OPENS_AT + timedelta(hours=2))
    await transport.inject(say(clock, "草莓券"))
    assert "领取已经结束" in transport.texts(GROUP)[-1]
    assert CouponStore(app.services.repo.engine).issued_count(CAMPAIGN_ID, "strawberry") == 0


async def test_my_coupons_lists_codes_and_expiry(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "我的优惠券", "alice", name="爱丽丝"))
    assert "暂时没有" in transport.texts(GROUP)[-1]
    await transport.inject(say(clock, "草莓券", "alice", name="爱丽丝"))
    await transport.inject(say(clock, "我的优惠券", "alice", name="爱丽丝"))
    reply = transport.texts(GROUP)[-1]
    [coupon] = CouponStore(app.services.repo.engine).member_coupons("alice", clock.now())
    assert "满¥50.00减¥8.00券" in reply and "12月6日 22:00 前有效" in reply
    # Issue 16: no code is said in a group; the member gets the list with the codes privately.
    assert coupon.code not in reply and "券码已私聊发给你" in reply
    assert coupon.code in transport.private_texts("alice")[-1]
    assert transport.sent[-1].mentions == ("alice",)


async def test_no_campaign_no_claims(make_app, clock) -> None:
    app, transport = make_app()
    await transport.inject(say(clock, "草莓券"))
    assert transport.texts(GROUP) == []


async def test_wallet_offers_and_redeems_once(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "草莓券", "alice"))
    wallet = make_wallet(app.services)
    assert isinstance(wallet, EngagementWallet)
    typed: CouponWallet = wallet
    [offer] = typed.usable("alice", CAMPAIGN_ID, clock.now())
    assert (offer.amount_cents, offer.min_spend_cents, offer.product_codes) == (800, 5000, ("A1",))
    assert offer.title == "满¥50.00减¥8.00券" and offer.valid_until == CLOSES_AT
    assert typed.usable("alice", "another-campaign", clock.now()) == []
    assert wallet.redeem("alice", CAMPAIGN_ID, offer.coupon_id, CLOSES_AT)
    assert not wallet.redeem("alice", CAMPAIGN_ID, offer.coupon_id, CLOSES_AT)  # a retried close
    assert wallet.usable("alice", CAMPAIGN_ID, clock.now()) == []
    store = CouponStore(app.services.repo.engine)
    assert store.consumed(f"campaign:{CAMPAIGN_ID}") == [("alice", offer.coupon_code)]
    assert not wallet.redeem("bob", CAMPAIGN_ID, offer.coupon_id, CLOSES_AT)  # holds none


async def test_pricing_picks_the_coupon_and_settles_it_at_close(make_app, clock, tmp_path) -> None:
    """The orders feature's pricing, fed by this wallet: best coupon shown, consumed once at close."""
    from handlers.selling.pricing import PricedLine, quote_member, settle_coupons

    app, transport = make_app()
    registry = with_campaign(app, tmp_path)
    wallet = make_wallet(app.services)
    await transport.inject(say(clock, "草莓券", "alice"))
    campaign = registry.campaigns[CAMPAIGN_ID].campaign
    lines = [PricedLine(product_code="A1", quantity=2, unit_price_cents=5990)]
    member_quote = quote_member(wallet, "alice", CAMPAIGN_ID, lines, campaign.spend_tiers, clock.now())
    assert member_quote.coupon is not None and member_quote.coupon_off_cents == 800
    assert member_quote.total_cents == 11980 - 1000 - 800  # 满100减10 and the coupon stack
    assert settle_coupons(wallet, CAMPAIGN_ID, {"alice": member_quote}, CLOSES_AT) == 1
    assert settle_coupons(wallet, CAMPAIGN_ID, {"alice": member_quote}, CLOSES_AT) == 0


async def test_my_coupons_in_private_chat_lists_them_from_every_group(make_app, clock, tmp_path) -> None:
    """Issue 13.14: a private 我的优惠券 used to get no reply."""
    from tests.factories import private_message

    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(private_message("我的优惠券", "alice", at=clock.now()))
    assert "暂时没有" in transport.private_texts("alice")[-1]
    await transport.inject(say(clock, "草莓券", "alice", name="爱丽丝"))
    await transport.inject(say(clock, "/redpacket 1 3", "mike", group="团购二群"))
    await transport.inject(say(clock, "抢", "alice", name="爱丽丝", group="团购二群"))
    group_posts = len([m for m in transport.sent if m.group_id])
    await transport.inject(private_message("我的优惠券", "alice", at=clock.now()))
    reply = transport.private_texts("alice")[-1]
    codes = [c.code for c in CouponStore(app.services.repo.engine).member_coupons("alice", clock.now())]
    assert len(codes) == 2 and all(code in reply for code in codes)
    assert "满¥50.00减¥8.00券" in reply and "红包券" in reply
    assert len([m for m in transport.sent if m.group_id]) == group_posts  # nothing said in any group
