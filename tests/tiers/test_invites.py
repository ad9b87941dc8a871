"""The issue's referral ladder "邀请10人升级会员": a tier reached by invites credited by 推荐有礼.

The inviter need not buy: the close that credits their invites recomputes them too (the referral
feature's close hook runs before the tiers' one, in the same transaction)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config_tiers import Tier
from handlers.selling.perks import MemberPerks
from handlers.tiers.rules import INVITES, meets
from tests.commerce.selling_kit import build_shop
from tests.conftest import make_config
from tests.fakes import FakeClock
from tests.referral.kit import BEFORE, TEXT, close, join

AMBASSADOR = {"name": "推广大使", "invites": 3, "days": 90, "extra_limit": 5}


def test_invites_alone_reach_a_tier_within_its_days() -> None:
    tier = Tier(name="推广大使", invites=2, days=30)
    now = BEFORE
    assert meets(tier, 1, [], now, [now - timedelta(days=40), now - timedelta(days=1)]) is None
    held = meets(tier, 1, [], now, [now - timedelta(days=10), now - timedelta(days=1)])
    assert held is not None and held.reached_by == INVITES
    assert held.expires_at == now - timedelta(days=10) + timedelta(days=30)  # the older one leaves first
    with pytest.raises(ValidationError, match="spend_yuan, orders or invites"):
        Tier(name="空")


async def test_an_inviter_who_bought_nothing_is_promoted_by_the_close_that_credits_them(
    tmp_path: Path, clock: FakeClock
) -> None:
    clock.set(BEFORE)
    config = make_config(tmp_path, tiers={"levels": [AMBASSADOR]})
    shop = build_shop(tmp_path, clock, text=TEXT, config=config)
    await join(shop, "nina", "omar", "pia", by="alice")
    await join(shop, "quin", by="bob")
    await shop.open()
    for member in ("nina", "omar", "pia", "quin"):
        await shop.say("A1 1", member)
    await close(shop)
    perks = shop.app.services.get(MemberPerks)  # type: ignore[type-abstract]
    assert perks.perks("alice", "t1").tier == "推广大使"  # 3 credited invites, no order of her own
    assert perks.perks("bob", "t1").tier == ""  # one invite
    assert sum("推广大使" in t for t in shop.transport.private_texts("alice")) == 1
    await shop.registry.run_node("t1", "close")  # a second close: no second promotion
    await shop.drain()
    assert sum("推广大使" in t for t in shop.transport.private_texts("alice")) == 1
    await shop.say("我的等级", "bob")
    [told] = [t for t in shop.transport.private_texts("bob") if "会员等级" in t]
    assert "成功邀请 3 位好友" in told  # how 推广大使 is reached
    assert "成功邀请 1 位好友" in told and "还需再邀请 2 位好友" in told  # where bob stands
