"""The member discount (会员折扣) a close priced is what every later figure shows.

Found walking the README as a new operator (session 38): a buyer promoted to a discount tier by
a close was priced without the discount in the results post, and with it in `tuanbot report`, the
leader's lists and the buyer's 我的订单 afterwards, because those priced with the tier held *now*.
Coupons and points already kept what the close settled; the member discount now does too: the
close stores the percent each buyer was priced with, and every quote of that campaign uses it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from handlers.monitoring.report import build_report
from handlers.selling.perks import MemberPerks
from tests.commerce.selling_kit import G1, G2, OPENS
from tests.fakes import FakeClock
from tests.tiers.kit import add_earlier_sale, run_sale, tier_shop


def results_post(texts: list[str]) -> str:
    """The latest results post's money line."""
    return [t for t in texts if "实付" in t][-1]


def yuan_after(word: str, text: str) -> float:
    found = re.search(word + r" -?¥([0-9.]+)", text)
    assert found is not None, text
    return float(found.group(1))


def report_net(shop: object, campaign_id: str) -> tuple[int, float, float]:
    """(rows, member discount, net) of `tuanbot report`'s G1 row, as the command computes them."""
    app = shop.app  # type: ignore[attr-defined]
    opens = OPENS if campaign_id == "t1" else OPENS - timedelta(days=7)
    report = build_report(
        app.services.repo.engine,
        campaign_id,
        [G1, G2],
        {},
        opens - timedelta(days=1),
        opens + timedelta(days=1),
        tiers=app.services.campaigns.campaigns[campaign_id].campaign.spend_tiers,
        perks=app.services.find(MemberPerks),  # type: ignore[type-abstract]
    )
    row = report.rows[0]
    return len(report.rows), row.member_off_yuan, row.net_yuan


async def test_a_buyer_promoted_by_the_close_is_not_discounted_afterwards(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = tier_shop(tmp_path, clock, db_url=db_url)
    await run_sale(shop, "t1", [("bob", "A2 5", G1)])  # ¥102.50, 满减 -¥5: VIP (5 % off) at this close
    post = results_post(shop.texts(G1))
    assert "会员折扣" not in post and "实付 ¥97.50" in post
    perks = shop.app.services.get(MemberPerks)  # type: ignore[type-abstract]
    assert perks.perks("bob", "t2").discount_percent == 5  # promoted: the next sale is discounted

    assert report_net(shop, "t1") == (2, 0.0, yuan_after("实付", post))
    await shop.say("我的订单", "bob", G1)
    await shop.drain()
    [mine] = [t for t in shop.transport.private_texts("bob") + shop.texts(G1) if "商品金额" in t][-1:]
    assert "会员折扣" not in mine, mine


async def test_a_vip_before_the_sale_keeps_the_discount_the_close_gave(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = tier_shop(tmp_path, clock, db_url=db_url)
    add_earlier_sale(shop, tmp_path)
    await run_sale(shop, "t0", [("bob", "A2 5", G1)])  # VIP from t0's close
    await run_sale(shop, "t1", [("bob", "A2 5", G1)])  # ¥102.50 - ¥5 满减, then 5 %: -¥4.88
    post = results_post(shop.texts(G1))
    off, net = yuan_after("会员折扣", post), yuan_after("实付", post)
    assert off == 4.87 and net == 92.63  # (102.50 - 5) × 5 %, in whole fen
    assert report_net(shop, "t1") == (2, off, net)
