"""`OrderExtras`: lines other features add to a member's 我的订单 (pickup code, payment state, remark).

Why a registry of providers: selling answers 我的订单, but what the member also needs to see
after the close (their pickup code, what they still owe) belongs to other features. Those
register a provider in their setup,

    services.get_or_make(OrderExtras, OrderExtras).add(provider)

and selling calls every provider in the worker thread that reads the member's orders, so a
provider may read the database. A provider returns short lines it has already rendered with
its own template (`services.renderer.render(...)`). `private` says where the answer goes: a
line with a code, an amount or an address is for the private answer only, and a provider
returns nothing of the kind when `private` is False (the group reply). A provider that
raises is logged and skipped: one broken feature never costs the member their orders.
"""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger

from bot.campaign import Campaign

ExtraProvider = Callable[[Campaign, str, bool], list[str]]
"""`provider(campaign, member_id, private) -> lines`: already rendered, shown in order."""


class OrderExtras:
    """The providers of extra 我的订单 lines, found by type (`services.get_or_make`)."""

    def __init__(self) -> None:
        self.providers: list[ExtraProvider] = []

    def add(self, provider: ExtraProvider) -> None:
        """Register a provider (once: adding the same one again is ignored, e.g. a second setup)."""
        if provider not in self.providers:
            self.providers.append(provider)

    def lines(self, campaign: Campaign, member_id: str, private: bool) -> list[str]:
        """Every provider's lines for this member, in registration order (blank lines dropped)."""
        found: list[str] = []
        for provider in list(self.providers):
            try:
                lines = provider(campaign, member_id, private)
            except Exception:
                logger.opt(exception=True).error(
                    "order extras: provider {} failed for campaign {}", _name(provider), campaign.id
                )
                continue
            found.extend(line.strip() for line in lines or () if line and line.strip())
        return found


def _name(provider: ExtraProvider) -> str:
    return getattr(provider, "__qualname__", repr(provider))


__all__ = ["ExtraProvider", "OrderExtras"]
