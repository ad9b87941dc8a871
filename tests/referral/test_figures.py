"""Referral figures for /stats and `tuanbot report`, after a close and an admin's decisions, on
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from handlers.referral.figures import KEYS, figures
from tests.commerce.selling_kit import G1, G2
from tests.fakes import FakeClock
from tests.referral.kit import close, join, leave, private, shop_of


async def test_figures_count_invites_and_rewards_per_campaign_and_group(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = shop_of(tmp_path, clock, db_url=db_url)
    engine = shop.app.services.repo.engine
    assert figures(engine, "t1", None) == dict.fromkeys(KEYS, 0)
    await join(shop, "nina", "omar", "pia", by="alice")  # three credited: the 3-rung pays a coupon
    await join(shop, "quin", "rita", by="bob")  # quin held (left), rita rejected after being held
    await join(shop, "sam", by="carol", group=G2)  # credited in group two
    await join(shop, "tom", by="carol", group=G2)  # never orders: lapsed
    await shop.open()
    for member in ("nina", "omar", "pia", "quin", "rita"):
        await shop.say("A1 1", member)
    await shop.say("A1 1", "sam", group=G2)
    await leave(shop, "quin", "rita")
    await close(shop)
    await private(shop, "/referral reject 5", "admin")  # rita

    every = figures(engine, "t1", None)
    assert every == {
        "invites_joined": 7,
        "invites_credited": 4,
        "invites_held": 1,
        "invites_rejected": 1,
        "referral_coupons_paid": 4 + 1,  # an invite_gift per credited invite, and alice's ladder3
        "referral_points_paid": 4 * 50 + 4 * 20,
    }
    one = figures(engine, "t1", [G1])
    assert one["invites_joined"] == 5 and one["invites_credited"] == 3 and one["referral_coupons_paid"] == 4
    two = figures(engine, "t1", [G2])
    assert (two["invites_joined"], two["invites_credited"], two["referral_points_paid"]) == (2, 1, 70)
    assert figures(engine, "other", None) == dict.fromkeys(KEYS, 0)
