"""Keyword coupons, and the wallet that lets order pricing redeem them."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.coupons import chat
from handlers.coupons.wallet import make_wallet
from handlers.selling.discounts import CouponWallet


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Let order pricing see members' coupons (`handlers.selling.discounts.CouponWallet`)."""
    services.provide(make_wallet(services), CouponWallet)


FEATURE = Feature("coupons", modules=(chat,), setup=setup)
