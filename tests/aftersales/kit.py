"""An app with a sale in 团购一群 (lily leads it, mike leads 团购二群, admin is the admin) and chat helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handlers.aftersales.store import Ticket, TicketStore
from tests.commerce.selling_kit import G1, G2, Shop, build_shop, campaign_text
from tests.factories import private_message
from tests.fakes import FakeClock

__all__ = ["G1", "G2", "AfterSales", "sale"]

EXTRA = """\
fulfilment:
  ticket_keywords: [缺斤少两]
  first_reply_within: 2h
  resolve_within: 24h
faq:
  - question: 坏果或者不满意怎么办？
    keywords: [售后, 退款, 坏果, 烂了, 退货]
    examples:
      - 草莓有几个烂了怎么办
      - 可以退款吗
    answer: 收货48小时内拍照私信团长，坏果按个数补发或退款，2小时内处理。
"""


class AfterSales:
    """The shop, plus private chat and ticket lookups."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.app = shop.app
        self.transport = shop.transport
        self.clock = shop.clock
        self.services = shop.app.services
        self.store = TicketStore(self.services.repo.engine)

    async def say(self, text: str, sender: str = "alice", group: str = G1) -> Any:
        return await self.shop.say(text, sender, group)

    async def private(self, text: str, sender: str = "alice") -> Any:
        return await self.transport.inject(private_message(text, sender, at=self.clock.now()))

    def privately(self, member_id: str) -> list[str]:
        return self.transport.private_texts(member_id)

    def group_posts(self) -> list[str]:
        return [m.text for m in self.transport.sent if m.group_id]

    def tickets(self) -> list[Ticket]:
        return self.store.of_campaign("t1")

    def ticket(self, ticket_id: int = 1) -> Ticket:
        found = self.store.get(ticket_id)
        assert found is not None
        return found


async def sale(tmp_path: Path, clock: FakeClock, buyers: tuple[str, ...] = ("alice",)) -> AfterSales:
    """The sale open in both groups; each buyer ordered 2 × A1 (¥10 each) in 团购一群."""
    shop = build_shop(tmp_path, clock, text=campaign_text() + EXTRA)
    await shop.open()
    for buyer in buyers:
        await shop.say("A1 2", buyer)
    shop.transport.clear()
    return AfterSales(shop)
