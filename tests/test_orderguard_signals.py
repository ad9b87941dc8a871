"""The order guard's pure parts: what makes ids look alike, and where each pattern's threshold lies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.orderguard.patterns import (
    Broadcast,
    OrderFact,
    cancels_after_broadcast,
    lookalike,
    new_silent,
)
from handlers.orderguard.signals import address_key, mask_member, normalise_name, phones_in

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
G = "g1"


def order(member: str, minutes: float, *, name: str = "", cancelled: float | None = None) -> OrderFact:
    return OrderFact(
        member,
        G,
        name or member,
        T0 + timedelta(minutes=minutes),
        "cancelled" if cancelled is not None else "active",
        None if cancelled is None else T0 + timedelta(minutes=cancelled),
    )


def test_names_normalise_away_width_digits_emoji_punctuation_and_case() -> None:
    assert normalise_name("张三") == normalise_name("张 三2🍓") == normalise_name("张三!!") == "张三"
    assert normalise_name("ＡＮＮＡ") == normalise_name("anna_88") == "anna"
    assert normalise_name("张") == "" and normalise_name("🍓123") == ""  # too short to compare
    assert normalise_name("张三") != normalise_name("张四")


def test_phones_and_addresses_in_remarks() -> None:
    assert phones_in("电话 +86 138-1234-5678，放门口") == {"13812345678"}
    assert phones_in("１３８１２３４５６７８") == {"13812345678"}
    assert phones_in("订单号 2138123456789") == set()  # part of a longer number
    assert address_key("3栋502") == address_key("３号楼 502室") == address_key("住3幢502号") == "3栋502"
    assert address_key("3栋2单元502") == address_key("3-2-502") == "3栋2单元502"
    assert address_key("中山路12号") == "中山路12号"
    assert address_key("13812345678 放门口") == ""  # a phone number is not a room
    assert address_key("3栋") == ""  # a building without a room is many households


def test_members_are_masked() -> None:
    assert mask_member("张三丰", "wxid_abcdef12") == "张**(wx…12)"
    assert mask_member("", "bob") == "群*(b…b)"
    assert mask_member("张三", "wxid_abcdef12", full_id=True) == "张*(wxid_abcdef12)"


def test_new_silent_threshold_and_window() -> None:
    joined = {(G, m): T0 for m in ("a", "b", "c", "d")}
    orders = [order("a", 5), order("b", 10), order("c", 29.9)]
    [found] = new_silent(orders, joined, {}, minutes=30, threshold=3)
    assert found.orders == 3 and [m.member_id for m in found.members] == ["a", "b", "c"]
    # ordering at the 30th minute is no longer "minutes after joining"
    late = [order("a", 5), order("b", 10), order("c", 30)]
    assert new_silent(late, joined, {}, minutes=30, threshold=3) == []
    # a word before the order (not the order message itself) clears the member
    spoke = {(G, "c"): [T0 + timedelta(minutes=1), T0 + timedelta(minutes=29.9)]}
    assert new_silent(orders, joined, spoke, minutes=30, threshold=3) == []
    own = {(G, "c"): [T0 + timedelta(minutes=29.9)]}  # only the order message itself
    assert len(new_silent(orders, joined, own, minutes=30, threshold=3)) == 1
    # one 接龙 message with two lines is one order
    two_lines = [order("a", 5), order("a", 5), order("b", 10)]
    assert new_silent(two_lines, joined, {}, minutes=30, threshold=3) == []


def test_lookalike_thresholds_a_couple_is_not_flagged() -> None:
    orders = [order(m, 1) for m in ("a", "b", "c", "d", "e")]
    couple = {"a": "3栋502", "b": "3栋502室 放门口"}
    assert lookalike(orders, couple, {}, address_members=3) == []
    three = {**couple, "c": "3号楼502"}
    [found] = lookalike(orders, three, {}, address_members=3)
    assert found.detail["signal"] == "address" and found.detail["shown"] == "**栋**"
    phone = {"d": "13812345678", "e": "138 1234 5678"}
    [found] = lookalike(orders, phone, {}, address_members=3)
    assert found.detail == {"signal": "phone", "shown": "138****5678", "ids": 2}
    named = [order("x", 1, name="张三"), order("y", 1, name="李四")]
    assert lookalike(named, {}, {"y": "张三🍓"}, address_members=3)[0].detail["signal"] == "name"
    assert (
        lookalike([order("x", 1, name="群友"), order("y", 1, name="群友")], {}, {}, address_members=3) == []
    )


def test_cancels_count_only_orders_placed_before_the_broadcast_and_within_the_window() -> None:
    post = Broadcast(G, "broadcast-T+30m", T0 + timedelta(minutes=30))
    orders = [
        order("a", 1, cancelled=31),
        order("b", 2, cancelled=44.9),
        order("c", 3, cancelled=45),  # 15 minutes after: outside
        order("d", 31, cancelled=32),  # placed after the broadcast
        order("e", 4, cancelled=29),  # cancelled before it
    ]
    assert cancels_after_broadcast(orders, [post], minutes=15, threshold=3) == []
    [found] = cancels_after_broadcast(orders, [post], minutes=15, threshold=2)
    assert [m.member_id for m in found.members] == ["a", "b"]
