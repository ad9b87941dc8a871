"""The one group filter (issue 16): what it masks, what it leaves, and that the outbox applies it.

Every group post is masked as it leaves the outbox; private messages keep their details; the
table, a restart and the transport only ever see the masked text; operator-published fragments
(a pickup point's address) stay readable.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.group_filter import GroupFilter, mask_codes, mask_group_text
from bot.outbox import Draft
from handlers.coupons.codes import new_code as new_coupon_code
from handlers.fulfilment.codes import ALPHABET as PICKUP_ALPHABET
from handlers.fulfilment.codes import new_code as new_pickup_code
from tests.conftest import make_config
from tests.engagement.support import SAMPLE, with_campaign
from tests.fakes import FakeClock, FakeTransport
from tests.privacy_hostile import CODE_ALPHABET, hostile_texts

G = "团购一群"


@pytest.mark.parametrize(
    ("said", "masked"),
    [
        ("13812345678", "138****5678"),
        ("电话+86 138-1234-5678", "电话+86 138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("身份证110101199003071234", "身份证110***********1234"),
        ("卡号6222 0210 0112 3456", "卡号****3456"),
        ("卡号6222 0210 0112 3456 789", "卡号****6789"),
        ("6200000000000000 130 0000 0000", "****0000 130****0000"),  # a phone right after a card
        ("住3栋502", "住**栋**"),
        ("XX路12号", "XX路**号"),
        ("券码 K7QM-3XTA-9PRW", "券码 ****-****-****"),
        ("我的券k7qm-3xta-9prw", "我的券****-****-****"),
        ("取货码 K7Q3", "取货码 ****"),
        ("取货码：2345", "取货码：****"),
        ("王姐K7Q3", "王姐****"),
        ("取货码kqmw 在哪拿", "取货码**** 在哪拿"),
        # found by the hypothesis test: the code's digits were taken for the card's tail (0222A left)
        ("王姐6200000000000000 222A王姐", "王姐****0000 ****王姐"),
    ],
)
def test_group_text_masks_contacts_addresses_and_codes(said: str, masked: str) -> None:
    assert mask_group_text(said) == masked


@pytest.mark.parametrize(
    "said",
    [
        "A1 草莓 ¥9.90，10:00 开团，12-03 截单",
        "接龙 A1 2 · A1×2 · B12+1 · 已售120件 · 满200减30 · ¥2999.00",
        "2026-12-05 20:00 · T-10m · 12月5日 · 仅剩12件 · 第3名",
        "fruit-2026-12 · spring-ab23 · 5号取货 · 在3楼自提",
        "订单 12345，共2345件",
        "ANNA、amy2、NEWS、FREE",  # code letters, but no code: names and words stay
        "",
    ],
)
def test_ordinary_sale_text_is_left_alone(said: str) -> None:
    assert mask_group_text(said) == said


def test_the_code_alphabet_is_the_one_codes_are_drawn_from() -> None:
    assert CODE_ALPHABET == PICKUP_ALPHABET
    rng = random.Random(3)
    for _ in range(200):
        assert mask_codes(f"取货码{new_pickup_code(rng)}。") == "取货码****。"
        assert mask_codes(f"券 {new_coupon_code()}") == "券 ****-****-****"


@settings(max_examples=1500, deadline=None, database=None)
@given(hostile_texts())
def test_no_generated_secret_survives_and_masking_is_idempotent(case) -> None:
    text, secrets = case
    masked = mask_group_text(text)
    for secret in secrets:
        assert not secret.leaked(masked), (text, masked, secret)
    assert mask_group_text(masked) == masked


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(alphabet="0123456789 -栋单元号楼室路住电话，+86ABXKQMWk7q码取货券：*", max_size=50))
def test_masking_any_text_twice_changes_nothing_more(text: str) -> None:
    once = mask_group_text(text)
    assert mask_group_text(once) == once


sale_pieces = st.one_of(
    st.builds(lambda y, f: f"¥{y}.{f:02d}", st.integers(0, 99999), st.integers(0, 99)),
    st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59)),
    st.builds(lambda mo, d: f"{mo:02d}-{d:02d}", st.integers(1, 12), st.integers(1, 31)),
    st.builds(lambda mo, d: f"{mo}月{d}日", st.integers(1, 12), st.integers(1, 31)),
    st.builds(
        lambda c, n, q: f"{c}{n}×{q}",
        st.sampled_from(["A", "B", "AB", "C"]),
        st.integers(1, 9),
        st.integers(1, 99),
    ),
    st.builds(lambda n: f"已售{n}件", st.integers(0, 99999)),
    st.builds(lambda n: f"仅剩{n}件", st.integers(0, 9999)),
    st.builds(lambda a, b: f"满{a}减{b}", st.integers(1, 999), st.integers(1, 99)),
)


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(sale_pieces, min_size=1, max_size=6), st.sampled_from([" ", "，", "；", " · "]))
def test_ordinary_sale_text_is_never_touched(pieces: list[str], sep: str) -> None:
    text = sep.join(pieces)
    assert mask_group_text(text) == text


def test_published_fragments_stay_readable_and_shield_nothing_else() -> None:
    spare = GroupFilter()
    spare.publish("campaign:x", ["东门驿站", "中山路12号 3栋底商", "AB23", "团长电话 13900001111"])
    text = (
        "自提：东门驿站（中山路12号 3栋底商），AB23×2。我住人民路8号，电话13812345678，团长电话 13900001111"
    )
    assert spare(text) == (
        "自提：东门驿站（中山路12号 3栋底商），AB23×2。我住人民路**号，电话138****5678，团长电话 13900001111"
    )
    assert spare("AB234 K7Q3") == "AB234 ****"  # a fragment counts only as a whole token
    assert spare("A13812345678") == mask_group_text("A13812345678")
    spare.withdraw("campaign:x")
    assert spare("中山路12号") == "中山路**号"


def _app(tmp_path, clock: FakeClock) -> tuple[App, FakeTransport]:
    config = make_config(tmp_path)
    app = App.build(config, clock=clock, rng=random.Random(7))
    return app, FakeTransport(app, clock)


async def test_group_posts_are_masked_as_they_leave_and_private_ones_keep_details(tmp_path) -> None:
    clock = FakeClock()
    app, transport = _app(tmp_path, clock)
    outbox = app.services.outbox
    said = "王姐13812345678 住3栋502 取货码K7Q3 券码 K7QM-3XTA-9PRW"
    group_id = outbox.enqueue(said, group_id=G)
    outbox.enqueue(said, member_id="wang")
    rolling = outbox.enqueue("接龙\n1. 张三 A1×2", group_id="团购二群", replace_key="chain")
    outbox.replace(rolling, "接龙\n1. 张三 A1×2\n2. 李四13912345678 A1×1")
    outbox.enqueue_atomic([Draft(text="开团！联系 13700001111", group_id=G)], lambda conn: True)
    await outbox.drain()
    group = transport.texts(G) + transport.texts("团购二群")
    assert group[0] == "王姐138****5678 住**栋** 取货码**** 券码 ****-****-****"
    assert "137****1111" in group[1] and "李四139****5678 A1×1" in group[2]
    assert not any(
        s in t for t in group for s in ("13812345678", "3栋502", "K7Q3", "13912345678", "13700001111")
    )
    assert transport.private_texts("wang") == [said]  # the member's own details, privately, untouched
    rows = {row.id: row for row in outbox.store.all_rows()}
    assert rows[group_id].text == group[0]  # the table keeps only what the group saw
    assert all("13912345678" not in row.text and "13700001111" not in row.text for row in rows.values())


async def test_a_restart_sends_a_queued_post_masked(tmp_path) -> None:
    clock = FakeClock()
    app, transport = _app(tmp_path, clock)
    app.services.outbox.enqueue("电话13812345678", group_id=G)
    await app.services.outbox.flush()  # written, not sent: the process stops here
    again, transport2 = _app(tmp_path, clock)
    again.services.outbox.load()
    await again.services.outbox.drain()
    assert transport2.texts(G) == ["电话138****5678"] and transport.sent == []


SAMPLE_POINT = "中山路12号"


async def test_a_loaded_campaign_publishes_its_pickup_address_and_unloading_withdraws_it(tmp_path) -> None:
    clock = FakeClock()
    app, transport = _app(tmp_path, clock)
    text = SAMPLE.read_text(encoding="utf-8").replace("阳光花园小区东门 12 号商铺", SAMPLE_POINT)
    runtime = with_campaign(app, tmp_path, text)
    outbox = app.services.outbox
    outbox.enqueue(f"到 {SAMPLE_POINT} 自提；我住解放路8号", group_id=G)
    await outbox.drain()
    assert transport.texts(G)[-1] == f"到 {SAMPLE_POINT} 自提；我住解放路**号"
    runtime.remove_file(tmp_path / "campaigns" / "sample.yaml")
    outbox.enqueue(f"到 {SAMPLE_POINT} 自提", group_id=G)
    await outbox.drain()
    assert transport.texts(G)[-1] == "到 中山路**号 自提"


def test_masking_a_send_costs_microseconds() -> None:
    """The filter runs once per send (at most one every few seconds per group), never per message in."""
    import time

    spare = GroupFilter()
    spare.publish("c", ["中山路12号"])
    text = "📦【草莓节】火热进行中，已售 120 件，12月5日 20:00 截单\n" + "1. 张三 A1×2\n" * 30
    started = time.perf_counter()
    for _ in range(200):
        spare(text)
    assert (time.perf_counter() - started) / 200 < 0.002


def test_issued_codes_are_masked_exactly_in_any_case_and_others_are_not() -> None:
    hiding = GroupFilter()
    hiding.hide(["KQMW", "2345"])
    assert hiding("王姐KQMW，kqmw，2345件？KQMWX ANNA") == "王姐****，****，2345件？KQMWX ANNA"
