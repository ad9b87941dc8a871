"""What the pages and their JSON show: the same figures as `tuanbot report` and the results post, the
CSV download, the groups page against the thresholds, the timeline, and the alerts as they fired."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from handlers.monitoring.monitor import CampaignMonitor
from handlers.monitoring.report import build_report
from tests.board.kit import ADMIN_TOKEN, G1, G2, board_shop, client, figure, open_link
from tests.commerce.selling_kit import CLOSES
from tests.fakes import FakeClock


async def test_results_and_csv_agree_with_the_report(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = board_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 3", "alice", G1, name="阿花")  # ¥30: the 满30减5 tier applies
    await shop.say("A1 1", "dora", G1, name="小朵")
    await shop.say("A2 2", "bob", G2, name="小白")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    async with client(board) as http:
        await open_link(http, board.link_for("lily", [G1]))
        results = (await http.get("/api/c/t1/results")).json()
        assert results["campaign"]["status"] == "closed"
        f = results["figures"]
        assert (f["gmv_cents"], f["discount_cents"], f["net_cents"]) == (4000, 500, 3500)
        assert (f["orders"], f["buyers"], f["units"], f["aov_cents"]) == (2, 2, 4, 2000)
        assert [g["id"] for g in results["top_groups"]] == [G1]
        assert results["aftersales"] is not None and results["aftersales"]["tickets_opened"] == 0
        page = (await http.get("/c/t1/results")).text
        assert 'data-result="final"' in page and figure(page, "net") == 3500
        assert 'src="/c/t1/poster.png"' in page and 'data-download="csv"' in page
        poster = await http.get("/c/t1/poster.png")  # the poster feature draws it (test_poster_route)
        assert poster.status_code == 200 and poster.content.startswith(b"\x89PNG")
        download = await http.get("/c/t1/results.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    loaded = shop.registry.campaigns["t1"]
    until = max(CLOSES, clock.now())
    report = build_report(
        shop.app.services.repo.engine,
        "t1",
        [G1],
        {G1: G1},
        loaded.nodes[0].fire_at,
        until,
        tiers=loaded.campaign.spend_tiers,
        priced_at=min(until, CLOSES),
    )
    assert rows == list(csv.DictReader(io.StringIO(report.to_csv())))  # `tuanbot report --csv`, lily's row
    assert [r["group"] for r in rows] == [G1] and rows[0]["net_yuan"] == "35.0"
    board.close()


async def test_groups_page_checks_the_documents_thresholds(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = board_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 1", "alice", G1)
    await shop.say("大家好", "bob", G1)
    clock.advance(1)  # the monitor's windows end before now
    async with client(board) as http:
        await open_link(http, board.link_for("lily", [G1]))
        data = (await http.get("/api/c/t1/groups")).json()
        page = (await http.get("/c/t1/groups")).text
    [group] = data["groups"]
    checks = {c["rule"]: c for c in group["checks"]}
    assert {name: c["threshold"] for name, c in checks.items()} == {
        "active_ratio": 0.5,
        "messages_per_minute": 10,
        "conversion": 0.15,
    }
    # two members spoke, one bought: conversion 50 % (fine), 2 messages in 5 minutes: 0.4 a minute (low)
    assert checks["conversion"]["value"] == 0.5 and checks["conversion"]["breached"] is False
    assert checks["messages_per_minute"]["value"] == 0.4 and checks["messages_per_minute"]["breached"] is True
    assert 'data-check="messages_per_minute" data-breached="true"' in page
    assert data["aftersales"] is None  # no ticket and not closed yet
    board.close()


async def test_the_timeline_shows_done_next_and_skipped_nodes(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = board_shop(tmp_path, clock)
    clock.set(CLOSES.replace(hour=11, minute=50))  # T-10m
    await shop.registry.run_node("t1", "countdown-T-10m")
    await shop.open()
    clock.set(CLOSES.replace(hour=13))  # an hour after the opening: T-5m is far past its grace
    await shop.registry.run_node("t1", "countdown-T-5m")
    async with client(board, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        timeline = (await http.get("/api/c/t1/live")).json()["timeline"]
        page = (await http.get("/c/t1")).text
    states = {n["node_id"]: (n["state"], n["is_next"]) for n in timeline}
    assert states["countdown-T-10m"] == ("done", False)
    assert states["countdown-T-5m"] == ("skipped", False)
    assert states["open"] == ("done", False)
    assert states["broadcast-T+30m"] == ("pending", False) and states["close"] == ("pending", False)
    assert [n["node_id"] for n in timeline if n["is_next"]] == ["countdown-T-1m"]
    ran = {n["node_id"]: n["ran_at"] for n in timeline}
    assert ran["open"] is not None and ran["close"] is None
    assert 'data-node="open" data-kind="open" data-state="done"' in page
    assert 'data-node="countdown-T-5m" data-kind="countdown" data-state="skipped"' in page
    board.close()


async def test_alerts_show_what_the_bot_sent_each_viewer(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = board_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A2 5", "alice", G1)  # A2 sold out: the stock alert goes to every leader and the admin
    services = shop.app.services
    campaign = shop.registry.campaigns["t1"].campaign
    services.get(CampaignMonitor).check(campaign, [G1, G2], clock.now())
    services.outbox.enqueue(
        f"⚠️【测试鲜果团·{G2}】每分钟消息数为 1，低于 10。\n建议：群里有点冷场", member_id="mike", kind="alert"
    )
    await shop.drain()
    seen = {}
    for who, link in (("lily", [G1]), ("mike", [G2])):
        async with client(board) as http:
            await open_link(http, board.link_for(who, link))
            seen[who] = (await http.get("/api/c/t1/live")).json()["alerts"]
    async with client(board, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        seen["admin"] = (await http.get("/api/c/t1/live")).json()["alerts"]
    stock = [a for a in seen["lily"] if "库存剩余" in a["headline"]]
    assert (
        len(stock) == 1
        and stock[0]["fired"]
        and "全部群" in stock[0]["headline"]
        and "补货" in stock[0]["advice"]
    )
    assert not any(G2 in a["headline"] for a in seen["lily"])  # mike's group's alert is mike's
    assert any(G2 in a["headline"] for a in seen["mike"])
    assert [a["headline"] for a in seen["admin"]].count(stock[0]["headline"]) == 1
    board.close()
