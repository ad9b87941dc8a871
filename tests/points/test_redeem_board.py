"""The board and the report show 积分抵扣 and 会员折扣 as their own figures (a fake MemberPerks
stands in for the tiers feature)."""

from __future__ import annotations

from pathlib import Path

from handlers.board.service import board_of
from handlers.points.ledger import points_of
from handlers.selling.perks import MemberPerks, Perks
from tests.board.kit import board_config, client, figure, open_link
from tests.commerce.selling_kit import CLOSES, G1, OPENS, build_shop, campaign_text
from tests.fakes import FakeClock


class FakePerks:
    """VIP alice gets 10% off after 满减."""

    def perks(self, member_id: str, campaign_id: str) -> Perks:
        return Perks(discount_percent=10, tier="VIP") if member_id == "alice" else Perks()


async def test_board_figures_show_member_discount_and_points(tmp_path: Path, clock: FakeClock) -> None:
    text = campaign_text() + "points:\n  per_yuan: 0\n  redeem: {rate: 100, max_yuan: 5}\n"
    shop = build_shop(tmp_path, clock, config=board_config(tmp_path), text=text)
    shop.app.services.provide(FakePerks(), MemberPerks)
    board = board_of(shop.app.services)
    points_of(shop.app.services).credit("alice", 1_000, "lottery", "seed", now=OPENS)
    await shop.open()
    await shop.say("积分抵扣", "alice")
    await shop.say("A1 3", "alice", G1, name="阿花")  # ¥30 - 满减 ¥5 = ¥25; VIP 10%: ¥2.50; points ¥5
    await shop.say("A1 1", "dora", G1, name="小朵")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert points_of(shop.app.services).balance("alice") == 500
    async with client(board) as http:
        await open_link(http, board.link_for("lily", [G1]))
        f = (await http.get("/api/c/t1/results")).json()["figures"]
        assert (f["member_off_cents"], f["points_off_cents"]) == (250, 500)
        assert (f["gmv_cents"], f["discount_cents"], f["net_cents"]) == (4000, 500 + 250 + 500, 2750)
        page = (await http.get("/c/t1")).text
        assert figure(page, "points_off") == 500 and figure(page, "member_off") == 250
        assert "会员折扣" in page and "积分" in page
    board.close()
