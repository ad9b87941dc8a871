"""Helpers of the pickup tests: a closed sale with buyers, private chat, codes from the database."""

from __future__ import annotations

from pathlib import Path

from handlers.fulfilment.codes import PickupCode, codes_for
from tests.commerce.selling_kit import CLOSES, G1, G2, Shop, build_shop, campaign_text
from tests.factories import group_message, private_message
from tests.fakes import FakeClock

ON_PICKUP = "fulfilment:\n  payment: on_pickup\n"


async def closed_shop(
    tmp_path: Path, clock: FakeClock, *, db_url: str | None = None, extra: str = ""
) -> Shop:
    """The test campaign (points 东门菜鸟驿站, 南区便利店) opened, ordered in both groups, closed.

    a (阿花) buys in group one with a remark and picks 东门; b (小白) picks 南区; c buys in both groups with no
    choice; d buys in group two only.
    """
    shop = build_shop(tmp_path, clock, db_url=db_url, text=campaign_text(a1=50, a2=50, limit=9) + extra)
    await shop.open()
    await shop.say("A1 2 备注 3栋502", "a", name="阿花")
    await shop.say("自提 东门", "a", name="阿花")
    await shop.say("A2 1", "b", name="小白")
    await shop.say("自提 南区", "b", name="小白")
    await shop.say("A1 1", "c", name="小C")
    await shop.say("A2 1", "c", group=G2, name="小C")
    await shop.say("A1 3", "d", group=G2, name="小D")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.app.services.settle()  # the leaders' lists are written in the background
    await shop.drain()
    return shop


def codes(shop: Shop) -> dict[str, PickupCode]:
    return codes_for(shop.app.services.repo.engine, "t1")


async def private(shop: Shop, text: str, sender: str) -> list[str]:
    """Say `text` privately to the bot; what the sender was told privately in answer."""
    before = len(shop.transport.private_texts(sender))
    await shop.transport.inject(private_message(text, sender, at=shop.clock.now()))
    return shop.transport.private_texts(sender)[before:]


async def in_group(
    shop: Shop, text: str, sender: str, mentions: tuple[str, ...] = (), name: str | None = None
) -> None:
    msg = group_message(text, sender, name=name, group=G1, at=shop.clock.now(), mentions=mentions)
    await shop.transport.inject(msg)


__all__ = ["G1", "G2", "ON_PICKUP", "closed_shop", "codes", "in_group", "private"]
