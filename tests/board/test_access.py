"""Access by id, through the HTTP API: each leader sees only their groups, links expire and cannot
be altered, the admin pages need the admin token, and no answer shows an unmasked phone number."""

from __future__ import annotations

import time
from pathlib import Path

from handlers.board.links import Links
from tests.board.kit import (
    ADMIN_TOKEN,
    G1,
    G2,
    SECRET,
    board_shop,
    client,
    figure,
    open_link,
    unmasked_phones,
)
from tests.fakes import FakeClock

PAGES = ("/", "/c/t1", "/c/t1/groups", "/c/t1/results", "/c/t1/results.csv")
API = ("/api/me", "/api/c/t1/live", "/api/c/t1/groups", "/api/c/t1/results")


async def _sale(tmp_path: Path, clock: FakeClock):  # type: ignore[no-untyped-def]
    shop, board = board_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice", G1, name="阿花")  # 团购一群: ¥20.00
    await shop.say("A2 1", "bob", G2, name="小白")  # 团购二群: ¥20.50
    await shop.say("A1 1", "carol", G2, name="小红")  # 团购二群: ¥10.00
    return shop, board


async def test_a_leaders_link_sees_only_their_groups(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = await _sale(tmp_path, clock)
    seen: dict[str, list[str]] = {}
    for leader, mine, other, gmv in (("lily", G1, G2, 2000), ("mike", G2, G1, 3050)):
        async with client(board) as http:
            opened = await open_link(
                http, board.link_for(leader, shop.app.services.roles.leader_groups(leader))
            )
            assert opened.status_code == 303 and opened.headers["location"] == "/"
            me = (await http.get("/api/me")).json()
            assert me["groups"] == [mine] and me["admin"] is False
            live = (await http.get("/api/c/t1/live")).json()
            assert [g["id"] for g in live["groups"]] == [mine]
            assert live["figures"]["gmv_cents"] == gmv
            assert {o["group"] for o in live["recent_orders"]} == {mine}
            page = (await http.get("/c/t1")).text
            assert figure(page, "gmv") == gmv
            texts = [(await http.get(path)).text for path in (*PAGES, *API)]
            assert all(other not in text for text in texts), f"{leader} saw {other}"
            seen[leader] = texts
    assert "小白" in seen["mike"][API.index("/api/c/t1/live") + len(PAGES)]
    assert "小白" not in " ".join(seen["lily"])  # mike's buyer never reaches lily
    board.close()


async def test_a_link_claiming_another_leaders_group_still_shows_only_ones_own(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Even a link signed with both groups (the secret leaked) shows lily only what she leads now."""
    shop, board = await _sale(tmp_path, clock)
    async with client(board) as http:
        await open_link(http, board.link_for("lily", [G1, G2]))
        live = (await http.get("/api/c/t1/live")).json()
        assert [g["id"] for g in live["groups"]] == [G1]
        assert (await http.get("/api/me")).json()["groups"] == [G1]
        unknown = await http.get("/api/c/no-such-campaign/live")
        assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    async with client(board) as http:  # a member who leads nothing: nothing to show
        response = await open_link(http, board.link_for("alice", [G1]))
        assert response.status_code == 403 and "没有管理中的群" in response.text
    board.close()


async def test_expired_and_tampered_links_get_403_saying_what_to_do(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = await _sale(tmp_path, clock)
    thirteen_hours_ago = Links(SECRET, link_minutes=720, admin_token="", wall=lambda: time.time() - 13 * 3600)
    old = f"{board.base_url}/l/{thirteen_hours_ago.mint('lily', [G1])}"
    good = board.link_for("lily", [G1])
    token = good.rsplit("/", 1)[1]
    payload, stamp, signature = token.split(".")
    forged_payload = board.links.mint("lily", [G1, G2]).split(".")[0]
    tampered = {
        "signature": f"{payload}.{stamp}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        "payload": f"{forged_payload}.{stamp}.{signature}",
        "garbage": "not-a-link",
    }
    async with client(board) as http:
        expired = await open_link(http, old)
        assert expired.status_code == 403
        assert "过期" in expired.text and "/board" in expired.text
        for what, bad in tampered.items():
            response = await http.get(f"/l/{bad}")
            assert response.status_code == 403, what
            assert "无效" in response.text and "/board" in response.text
    sessions = (
        (f"l.{thirteen_hours_ago.mint('lily', [G1])}", "expired"),
        (f"l.{tampered['payload']}", "invalid"),
        ("", "missing"),
    )
    for cookie, reason in sessions:
        async with client(board, cookies={"tuanbot_board": cookie} if cookie else {}) as http:
            for path in API:
                response = await http.get(path)
                assert response.status_code == 403, path
                assert response.json()["error"] == reason
                assert "/board" in response.json()["message"]
            page = await http.get("/c/t1")
            assert page.status_code == 403 and "/board" in page.text
    async with client(board) as http:  # the good link still works
        assert (await open_link(http, good)).status_code == 303
        assert (await http.get("/api/c/t1/live")).status_code == 200
    board.close()


async def test_admin_pages_need_the_admin_token(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = await _sale(tmp_path, clock)
    async with client(board) as http:  # no session
        assert (await http.get("/admin")).status_code == 403
        assert (await http.get("/api/admin")).status_code == 403
    async with client(board) as http:  # a leader's link is not an admin session
        await open_link(http, board.link_for("lily", [G1]))
        page = await http.get("/admin")
        assert page.status_code == 403 and "管理员" in page.text
        assert (await http.get("/api/admin")).json()["error"] == "admin"
    async with client(board) as http:  # nor is an admin's own /board link: the token is
        await open_link(http, board.link_for("admin", None))
        assert (await http.get("/api/admin")).status_code == 403
        assert [g["id"] for g in (await http.get("/api/c/t1/live")).json()["groups"]] == [G1, G2]
    async with client(board, headers={"authorization": "Bearer wrong"}) as http:
        assert (await http.get("/api/admin")).status_code == 403
    async with client(board) as http:
        wrong = await http.post("/login", data={"token": "wrong"})
        assert wrong.status_code == 403 and "令牌不对" in wrong.text
        right = await http.post("/login", data={"token": ADMIN_TOKEN})
        assert right.status_code == 303 and right.headers["location"] == "/admin"
        assert ADMIN_TOKEN not in right.headers["set-cookie"]  # the browser keeps a session, not the token
        page = await http.get("/admin")
        assert page.status_code == 200 and 'data-file="t1.yaml" data-valid="true"' in page.text
        data = (await http.get("/api/admin")).json()
        assert [c["id"] for c in data["campaigns"]] == ["t1"]
        assert data["accounts"][0]["daily_budget"] == 3000 and data["accounts"][0]["sent_today"] > 0
        assert data["files"] == [
            {
                "file": "t1.yaml",
                "campaign_id": "t1",
                "ok": True,
                "problems": [],
                "more_problems": 0,
                "running": True,
            }
        ]
        assert [g["id"] for g in (await http.get("/api/c/t1/live")).json()["groups"]] == [G1, G2]
    async with client(board, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        assert (await http.get("/api/admin")).status_code == 200
    board.close()


async def test_without_an_admin_token_the_admin_pages_stay_closed(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = board_shop(tmp_path, clock, admin_token="")
    async with client(board, headers={"authorization": "Bearer "}) as http:
        assert (await http.get("/api/admin")).status_code == 403
        response = await http.post("/login", data={"token": ""})
        assert response.status_code == 403
        assert 'data-login="closed"' in (await http.get("/login")).text
    board.close()


async def test_no_answer_shows_an_unmasked_phone_number(tmp_path: Path, clock: FakeClock) -> None:
    shop, board = board_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2 备注 3栋502 电话13987654321", "zhang", G1, name="张三13812345678")
    await shop.say("A2 1", "li", G2, name="李四 138-1234-5679")
    await shop.say("备注 放门口 15011112222", "li", G2)
    shop.app.services.outbox.enqueue(
        f"⚠️【测试鲜果团·{G1}】库存剩余（A1 丹东草莓）为 10%，低于 20%。\n建议：联系 13600001111 补货",
        member_id="lily",
        kind="alert",
    )
    await shop.drain()
    bodies: list[str] = []
    for who in ("lily", "admin"):
        async with client(
            board, headers={"authorization": f"Bearer {ADMIN_TOKEN}"} if who == "admin" else {}
        ) as http:
            if who == "lily":
                await open_link(http, board.link_for("lily", [G1]))
            for path in (*PAGES, *API, "/admin", "/api/admin"):
                response = await http.get(path)
                if who == "lily" and "admin" in path:
                    assert response.status_code == 403
                    continue
                assert response.status_code == 200, path
                bodies.append(response.text)
    text = "\n".join(bodies)
    assert unmasked_phones(text) == []
    assert "3栋502" not in text and "张三" in text  # the name is shown, its digits are not
    assert "库存剩余" in text and "136****1111" in text  # the alert is shown, masked
    board.close()
