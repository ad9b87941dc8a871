"""Member perks in the order path, from a fake `MemberPerks` provider (the tiers feature's seam):
early access lets only that member order from T minus their minutes while the group is still
scheduled (stock is seeded by their first order), and the extra limit raises every per-member limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from handlers.selling.perks import MemberPerks, Perks
from tests.commerce.selling_kit import G1, OPENS, Shop, build_shop
from tests.fakes import FakeClock


@dataclass
class FakePerks:
    by_member: dict[str, Perks] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def perks(self, member_id: str, campaign_id: str) -> Perks:
        self.asked.append((member_id, campaign_id))
        return self.by_member.get(member_id, Perks())


def shop_with_perks(tmp_path: Path, clock: FakeClock, perks: dict[str, Perks]) -> tuple[Shop, FakePerks]:
    shop = build_shop(tmp_path, clock)
    provider = FakePerks(perks)
    shop.app.services.provide(provider, MemberPerks)
    return shop, provider


def held(shop: Shop, member: str) -> int:
    return sum(o.quantity for o in shop.sell.store.orders("t1", member_id=member))


async def test_early_access_opens_the_group_for_that_member_alone(tmp_path: Path, clock: FakeClock) -> None:
    vip, short = Perks(early_minutes=30, tier="VIP"), Perks(early_minutes=10, tier="VIP")
    shop, provider = shop_with_perks(tmp_path, clock, {"vip": vip, "short": short})
    clock.set(OPENS - timedelta(minutes=40))
    await shop.say("A1 1", "vip")  # before T-30m: not yet, even for her
    clock.set(OPENS - timedelta(minutes=20))
    await shop.say("A1 2", "vip")
    await shop.say("A1 1", "short")  # her window starts at T-10m
    await shop.say("A1 1", "bob")  # no perks: waits for T
    await shop.sell.settle()
    assert (held(shop, "vip"), held(shop, "short"), held(shop, "bob")) == (2, 0, 0)
    assert shop.stock("A1") == 8  # seeded by her order, decremented like any other
    assert shop.sell.status("t1", G1) == "scheduled"  # the group itself has not opened
    assert ("vip", "t1") in provider.asked
    clock.set(OPENS - timedelta(minutes=5))
    await shop.say("A1 1", "short")
    await shop.sell.settle()
    assert held(shop, "short") == 1
    await shop.drain()
    refused = "\n".join(shop.texts(G1))
    assert "还没开团" in refused and "bob" in refused

    await shop.say("取消 A1", "short")  # an early order can be cancelled before T too
    await shop.say("取消 A1", "bob")  # nothing of his: the usual answer
    await shop.sell.settle()
    assert held(shop, "short") == 0 and shop.stock("A1") == 8

    await shop.open()
    await shop.say("A1 1", "bob")
    await shop.sell.settle()
    assert held(shop, "bob") == 1 and shop.stock("A1") == 7


async def test_the_extra_limit_raises_the_members_limit_only(tmp_path: Path, clock: FakeClock) -> None:
    shop, _ = shop_with_perks(tmp_path, clock, {"vip": Perks(extra_limit=2)})
    await shop.open()
    await shop.say("A1 6", "vip")  # limit 3 + 2
    await shop.say("A1 6", "bob")  # limit 3
    await shop.say("A2 5", "vip")  # A2 has no limit: still none
    await shop.sell.settle()
    assert held(shop, "bob") == 3
    assert sum(o.quantity for o in shop.sell.store.orders("t1", member_id="vip", product_code="A1")) == 5
    assert sum(o.quantity for o in shop.sell.store.orders("t1", member_id="vip", product_code="A2")) == 5
    await shop.drain()
    assert any("每人限购5件，已为你接龙5件" in t for t in shop.texts(G1))
