"""Contact details masked before member words reach a group (issue 13 item 4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.privacy import mask_contacts, mask_name


def test_the_reported_message_loses_its_phone_number_and_room() -> None:
    assert (
        mask_contacts("我电话13812345678，住3栋502，明天能送吗？")
        == "我电话138****5678，住**栋**，明天能送吗？"
    )


@pytest.mark.parametrize(
    ("said", "masked"),
    [
        ("13812345678", "138****5678"),
        ("电话 138 1234 5678 找我", "电话 138****5678 找我"),
        ("138-1234-5678", "138****5678"),
        ("+86 13912345678", "+86 139****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("座机010-12345678", "座机010-****5678"),
        ("0755 87654321转123", "0755-****4321"),
        ("身份证110101199003071234", "身份证110***********1234"),
        ("身份证11010119900307123X", "身份证110***********123X"),
        ("卡号6222 0210 0112 3456 789", "卡号****6789"),
        ("卡号6222021001123456", "卡号****3456"),
    ],
)
def test_numbers_that_identify_a_person_are_masked(said: str, masked: str) -> None:
    assert mask_contacts(said) == masked


@pytest.mark.parametrize(
    ("said", "masked"),
    [
        ("住3栋502", "住**栋**"),
        ("5单元301", "**单元**"),
        ("阳光小区3栋2单元502室", "阳光小区**栋**单元**室"),
        ("12号楼门口", "**号楼门口"),
        ("中山路12号", "中山路**号"),
        ("长乐路123弄5号", "长乐路**弄**号"),
        ("B座1203", "**座**"),
        ("三栋二单元", "**栋**单元"),
        ("送到3-2-502", "送到**-**-**"),
        ("1201室", "**室"),
    ],
)
def test_building_unit_and_room_numbers_are_masked(said: str, masked: str) -> None:
    assert mask_contacts(said) == masked


@pytest.mark.parametrize(
    "said",
    [
        "接龙 A1 2",
        "A1+2，A3+1",
        "5号取货吗？",
        "我知道3号到货",
        "在3楼自提",
        "12月5日 20:00 开团",
        "2026-12-05 20:00",
        "一共¥138.50",
        "券码 K7QM-3XTA-9PRW",
        "订单 12345",
        "",
    ],
)
def test_ordinary_chat_is_left_alone(said: str) -> None:
    assert mask_contacts(said) == said


@given(st.text(alphabet="0123456789 -栋单元号楼室路住电话，+86ABX", max_size=40))
def test_masking_is_idempotent(text: str) -> None:
    once = mask_contacts(text)
    assert mask_contacts(once) == once


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.text(alphabet="你好，电话是吗", max_size=5))
def test_no_mobile_number_survives(number: str, around: str) -> None:
    assert number not in mask_contacts(f"{around}{number}{around}")


def test_templates_can_mask_member_text(tmp_path) -> None:
    from bot.templates import Renderer

    renderer = Renderer(tmp_path)
    assert renderer.render_string("{{ text | mask }}", text="我电话13812345678") == "我电话138****5678"


def test_a_name_shown_to_a_group_keeps_its_first_character() -> None:
    assert [mask_name(n) for n in ("张三丰", "李四", "王", "  ", "Alice")] == [
        "张**",
        "李*",
        "王*",
        "群*",
        "A**",
    ]
