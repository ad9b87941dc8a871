"""Timeline compilation: absolute times in the campaign timezone, ids, interval expansion."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.campaign import KINDS, Campaign, compile_timeline, load_campaign, parse_campaign
from bot.campaign.timeline import TimelineNode

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sample_fixed.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def campaign(extra: str = "", *, opens: str = "2026-12-05 20:00", closes: str = "2026-12-05 23:00",
             timezone: str = "Asia/Shanghai") -> Campaign:  # fmt: skip
    """A small campaign; ``extra`` is appended YAML (sections not given use their defaults)."""
    text = (
        f"id: t\ntitle: 测试\ngroups: [团购一群]\ntimezone: {timezone}\n"
        f"opens_at: {opens}\ncloses_at: {closes}\n"
        "products:\n  - {code: A1, name: 草莓, price: 10, stock: 5}\n" + extra
    )
    return parse_campaign(text)


def by_id(nodes: list[TimelineNode]) -> dict[str, TimelineNode]:
    return {n.node_id: n for n in nodes}


def test_sample_timeline_ids_and_order() -> None:
    nodes = compile_timeline(load_campaign(SAMPLE))
    assert [n.node_id for n in nodes] == [
        "preheat-T-3d",
        "preheat-T-2d",
        "preheat-T-1d",
        "countdown-T-10m",
        "redpacket-T-10m",
        "countdown-T-5m",
        "redpacket-T-5m",
        "countdown-T-1m",
        "open",
        "broadcast-T+30m",
        "broadcast-T+2h",
        # T+4h .. T+10h fall in quiet hours 23:00-08:00
        "broadcast-T+12h",
        "broadcast-T+14h",
        "broadcast-T+16h",
        "broadcast-T+18h",
        "broadcast-T+20h",
        "broadcast-T+22h",
        "broadcast-T+24h",
        "close",
        "followup-C+14h",
        "followup-C+2d",
    ]
    times = [n.fire_at.astimezone(UTC) for n in nodes]
    assert times == sorted(times)
    assert {n.kind for n in nodes} == set(KINDS)


def test_sample_absolute_times_in_shanghai() -> None:
    nodes = by_id(compile_timeline(load_campaign(SAMPLE)))
    expect = {
        "preheat-T-3d": datetime(2026, 12, 2, 20, 0),
        "countdown-T-10m": datetime(2026, 12, 5, 19, 50),
        "redpacket-T-5m": datetime(2026, 12, 5, 19, 55),
        "open": datetime(2026, 12, 5, 20, 0),
        "broadcast-T+30m": datetime(2026, 12, 5, 20, 30),
        "broadcast-T+2h": datetime(2026, 12, 5, 22, 0),
        "broadcast-T+12h": datetime(2026, 12, 6, 8, 0),
        "close": datetime(2026, 12, 6, 22, 0),
        "followup-C+14h": datetime(2026, 12, 7, 12, 0),
    }
    for node_id, wall in expect.items():
        node = nodes[node_id]
        assert node.fire_at.tzinfo is not None
        assert node.fire_at.utcoffset() == timedelta(hours=8)
        assert node.fire_at.replace(tzinfo=None) == wall, node_id
    assert nodes["countdown-T-10m"].offset == timedelta(minutes=-10)
    assert nodes["close"].offset == timedelta(hours=26)


def test_critical_only_for_open_and_close() -> None:
    nodes = compile_timeline(load_campaign(SAMPLE))
    assert {n.node_id for n in nodes if n.critical} == {"open", "close"}


def test_params_are_plain_json() -> None:
    nodes = by_id(compile_timeline(load_campaign(SAMPLE)))
    for node in nodes.values():
        json.dumps(node.params)
    burst = nodes["redpacket-T-10m"].params
    assert burst == {
        "text": None,
        "template": None,
        "packets": 20,
        "budget": "50.00",
        "budget_cents": 5000,
        "keyword": "抢",
        "window_seconds": 60,
    }
    assert nodes["countdown-T-5m"].params == {"remaining": "5m", "remaining_seconds": 300}
    assert nodes["preheat-T-1d"].params["coupon"] == "strawberry"
    assert str(nodes["close"].params["next_preview"]).startswith("下周预告")
    assert nodes["broadcast-T+30m"].params["source"] == "at"
    assert nodes["broadcast-T+2h"].params["source"] == "every"
    assert nodes["broadcast-T+2h"].params["low_stock_threshold"] == 0.2


def test_ids_are_deterministic_and_survive_unrelated_edits() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    first = compile_timeline(parse_campaign(text))
    again = compile_timeline(parse_campaign(text))
    assert first == again
    edited = text.replace("新鲜", "鲜美").replace("stock: 200", "stock: 300")
    assert [n.node_id for n in compile_timeline(parse_campaign(edited))] == [n.node_id for n in first]


def test_moving_the_opening_keeps_relative_ids() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    moved = text.replace("opens_at: 2026-12-05 20:00", "opens_at: 2026-12-05 20:15")
    before = {n.node_id: n for n in compile_timeline(parse_campaign(text))}
    after = {n.node_id: n for n in compile_timeline(parse_campaign(moved))}
    assert after["countdown-T-10m"].fire_at - before["countdown-T-10m"].fire_at == timedelta(minutes=15)
    assert after["close"].fire_at == before["close"].fire_at


def test_campaign_crossing_midnight() -> None:
    c = campaign(
        "countdowns: [T-10m]\nbroadcasts:\n  at: [T+30m]\n  every: 1h\nfollowups:\n  - {at: C+30m, text: 谢谢}\n",
        opens="2026-12-31 22:30",
        closes="2027-01-01 01:30",
    )
    nodes = compile_timeline(c)
    walls = [(n.node_id, n.fire_at.strftime("%Y-%m-%d %H:%M")) for n in nodes]
    assert walls == [
        ("countdown-T-10m", "2026-12-31 22:20"),
        ("open", "2026-12-31 22:30"),
        ("broadcast-T+30m", "2026-12-31 23:00"),
        ("broadcast-T+1h", "2026-12-31 23:30"),
        ("broadcast-T+2h", "2027-01-01 00:30"),
        ("close", "2027-01-01 01:30"),
        ("followup-C+30m", "2027-01-01 02:00"),
    ]


def test_campaign_in_tokyo() -> None:
    c = campaign("preheat:\n  - {at: T-1d, text: 予告}\n", opens="2026-12-05 20:00", timezone="Asia/Tokyo")
    nodes = by_id(compile_timeline(c))
    tokyo = ZoneInfo("Asia/Tokyo")
    assert nodes["open"].fire_at == datetime(2026, 12, 5, 20, 0, tzinfo=tokyo)
    assert nodes["open"].fire_at.astimezone(UTC) == datetime(2026, 12, 5, 11, 0, tzinfo=UTC)
    assert nodes["preheat-T-1d"].fire_at.utcoffset() == timedelta(hours=9)
    assert nodes["countdown-T-1m"].fire_at.astimezone(SHANGHAI).strftime("%H:%M") == "18:59"


def test_campaign_in_berlin_across_the_dst_change() -> None:
    """Clocks go forward at 02:00 on 2026-03-29; day marks keep the wall clock."""
    c = campaign(
        "preheat:\n  - {at: T-1d, text: Vorschau}\nbroadcasts:\n  at: []\n  every: 2h\n",
        opens="2026-03-29 00:00",
        closes="2026-03-29 07:00",
        timezone="Europe/Berlin",
    )
    nodes = by_id(compile_timeline(c))
    berlin = ZoneInfo("Europe/Berlin")
    assert nodes["preheat-T-1d"].fire_at == datetime(2026, 3, 28, 0, 0, tzinfo=berlin)
    # Interval ticks are elapsed time: 00:00 CET + 2h = 02:00 CET = 03:00 CEST.
    assert nodes["broadcast-T+2h"].fire_at.strftime("%H:%M %Z") == "03:00 CEST"
    assert nodes["broadcast-T+4h"].fire_at.strftime("%H:%M %Z") == "05:00 CEST"
    assert "broadcast-T+6h" not in nodes  # 07:00 CEST is the close
    assert nodes["close"].offset == timedelta(hours=6)


def test_dst_day_mark_differs_from_elapsed_day() -> None:
    """Across the change T-1d (20:00 the day before) and T-24h (19:00) are distinct nodes."""
    c = campaign(
        "preheat:\n  - {at: T-1d, text: a}\n  - {at: T-24h, text: b}\n",
        opens="2026-03-29 20:00",
        closes="2026-03-29 22:00",
        timezone="Europe/Berlin",
    )
    nodes = by_id(compile_timeline(c))
    assert nodes["preheat-T-1d"].offset == timedelta(hours=-23)
    assert nodes["preheat-T-24h"].offset == timedelta(hours=-24)


def test_interval_expansion_merges_explicit_marks() -> None:
    c = campaign("broadcasts:\n  at: [T+30m, T+1h]\n  every: 1h\n", closes="2026-12-06 00:00")
    nodes = [n for n in compile_timeline(c) if n.kind == "broadcast"]
    assert [(n.node_id, n.params["source"]) for n in nodes] == [
        ("broadcast-T+30m", "at"),
        ("broadcast-T+1h", "at"),
        ("broadcast-T+2h", "every"),
        ("broadcast-T+3h", "every"),
    ]


def test_interval_ticks_stop_before_close() -> None:
    c = campaign("broadcasts:\n  at: []\n  every: 45m\n", closes="2026-12-05 22:15")
    offsets = [n.offset for n in compile_timeline(c) if n.kind == "broadcast"]
    assert offsets == [timedelta(minutes=45), timedelta(minutes=90)]


def test_absolute_times_get_offset_labels() -> None:
    c = campaign("preheat:\n  - {at: '2026-12-02 20:00', text: a}\n  - {at: '2026-12-05 08:30', text: b}\n")
    ids = [n.node_id for n in compile_timeline(c) if n.kind == "preheat"]
    assert ids == ["preheat-T-3d", "preheat-T-11h30m"]


def test_followup_written_relative_to_opening_is_labelled_from_close() -> None:
    c = campaign("followups:\n  - {at: T+1d, text: 回访}\n")
    [node] = [n for n in compile_timeline(c) if n.kind == "followup"]
    assert node.node_id == "followup-C+21h"


def test_same_instant_orders_by_kind() -> None:
    c = campaign(
        "countdowns: [T-10m]\nred_packets:\n  - {at: T-10m, packets: 5, budget: 10}\nbroadcasts:\n  at: [T]\n"
    )
    kinds = [n.kind for n in compile_timeline(c)]
    assert kinds == ["countdown", "redpacket", "open", "broadcast", "close"]


def test_shifted_campaign_moves_every_node() -> None:
    original = load_campaign(SAMPLE)
    delta = timedelta(days=-30)  # whole days: quiet hours pick the same ticks
    shifted = original.shifted(delta)
    before = compile_timeline(original)
    after = compile_timeline(shifted)
    assert [n.node_id for n in after] == [n.node_id for n in before]
    assert all(
        a.fire_at.astimezone(UTC) - b.fire_at.astimezone(UTC) == delta
        for a, b in zip(after, before, strict=True)
    )
