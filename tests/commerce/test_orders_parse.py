"""Every order form members type, cancellations, and names safe to show in a group."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.campaign import load_campaign
from handlers.selling.parse import (
    Catalog,
    OrderItem,
    chinese_quantity,
    is_my_orders,
    parse_cancel,
    parse_order,
    safe_name,
)

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sample_fixed.yaml"
CATALOG = Catalog.of(load_campaign(SAMPLE).products)  # A1 草莓, A2 脐橙, A3 芒果, A4 苹果


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("接龙 A1 2", [("A1", 2)]),
        ("接龙A1 2", [("A1", 2)]),
        ("接龙：A1 2", [("A1", 2)]),
        ("A1 2", [("A1", 2)]),
        ("A1", [("A1", 1)]),
        ("a1 2", [("A1", 2)]),
        ("A1+2", [("A1", 2)]),
        ("A1 +2", [("A1", 2)]),
        ("A1 x2", [("A1", 2)]),
        ("A1X2", [("A1", 2)]),
        ("A1×2", [("A1", 2)]),
        ("A1*2", [("A1", 2)]),
        ("A1 2份", [("A1", 2)]),
        ("Ａ１＋２", [("A1", 2)]),  # full-width letters, digits and plus
        ("Ａ１　２", [("A1", 2)]),  # ideographic space
        ("A1 ×３", [("A1", 3)]),
        ("+1", [(None, 1)]),
        ("＋１", [(None, 1)]),
        ("+2", [(None, 2)]),
        ("接龙 +1", [(None, 1)]),
        ("草莓 2", [("A1", 2)]),
        ("脐橙+1", [("A2", 1)]),
        ("苹果×2", [("A4", 2)]),
        ("接龙 苹果", [("A4", 1)]),
        ("丹东99红颜草莓 2", [("A1", 2)]),  # a full name with digits in it
        ("A1 两份", [("A1", 2)]),
        ("草莓三盒", [("A1", 3)]),
        ("A1 2 A2 1", [("A1", 2), ("A2", 1)]),
        ("A1+2，A3+1", [("A1", 2), ("A3", 1)]),
    ],
)
def test_order_forms(text: str, items: list[tuple[str | None, int]]) -> None:
    parsed = parse_order(text, CATALOG)
    assert parsed is not None, text
    assert [(i.code, i.quantity) for i in parsed.items] == items
    assert parsed.unknown == ()


@pytest.mark.parametrize(
    "text",
    ["你好", "草莓！", "草莓好吃吗", "A1还有吗", "今天天气 2", "A1 0", "接龙", "", "我要A1", "A1+", "2"],
)
def test_not_orders(text: str) -> None:
    assert parse_order(text, CATALOG) is None


def test_unknown_code_is_reported_not_ignored() -> None:
    parsed = parse_order("A9 2", CATALOG)
    assert parsed is not None and parsed.items == () and parsed.unknown == ("A9",)
    mixed = parse_order("A1 1 B7 2", CATALOG)
    assert mixed is not None and mixed.items == (OrderItem("A1", 1, "A1"),) and mixed.unknown == ("B7",)


def test_chinese_quantities() -> None:
    assert [chinese_quantity(t) for t in ["3", "两", "十", "十二", "三十"]] == [3, 2, 10, 12, 30]


@pytest.mark.parametrize(
    ("text", "code"),
    [("取消 A1", "A1"), ("取消A1", "A1"), ("取消草莓", "A1"), ("取消 A2 1", "A2"), ("取消全部", None),
     ("全部取消", None), ("取消订单", None), ("取消", None)],
)  # fmt: skip
def test_cancel_forms(text: str, code: str | None) -> None:
    intent = parse_cancel(text, CATALOG)
    assert intent is not None and intent.product_code == code and not intent.unknown


def test_cancel_unknown_and_chatter() -> None:
    intent = parse_cancel("取消 A9", CATALOG)
    assert intent is not None and intent.unknown == "A9"
    assert parse_cancel("取消吧啦啦", CATALOG) is None


def test_my_orders_and_mentions() -> None:
    assert is_my_orders("我的订单") and is_my_orders("查订单？") and not is_my_orders("我的订单在哪里取")
    assert CATALOG.mentioned("A3 芒果今天到货啦") == "A3"
    assert CATALOG.mentioned("冰糖心苹果甜吗") is None  # a fragment is not enough to redirect +1
    assert CATALOG.mentioned("海南金煌芒甜吗") == "A3"


def test_display_names_never_echo_phone_numbers() -> None:
    assert safe_name("张三13812345678") == "张三***"
    assert safe_name("李四 138-1234-5678") == "李四 ***"
    assert safe_name("3栋2单元 王五") == "3栋2单元 王五"  # short numbers stay
    assert safe_name("   ") == "群友"
