"""The pickup code in a member's private 我的订单 (`handlers.selling.extras.OrderExtras`).

Only the private answer shows it: a code in the group reply would let anyone collect the goods.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.campaign import Campaign
from bot.context import Services
from handlers.fulfilment.codes import row_to_code
from handlers.fulfilment.pickup_tables import CODES
from handlers.selling.extras import ExtraProvider


def code_provider(services: Services) -> ExtraProvider:
    """A provider of the member's code line for the campaign (nothing before close, nothing in a group)."""

    def lines(campaign: Campaign, member_id: str, private: bool) -> list[str]:
        if not private:
            return []
        with services.repo.engine.connect() as conn:
            row = conn.execute(
                select(CODES).where(CODES.c.campaign_id == campaign.id, CODES.c.member_id == member_id)
            ).first()
        if row is None:
            return []
        code = row_to_code(row)
        return [services.renderer.render("pickup/my_code.j2", code=code)]

    lines.__qualname__ = "pickup_code_line"
    return lines


__all__ = ["code_provider"]
