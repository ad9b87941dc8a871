"""Points (积分, issue 17): the ledger other growth loops pay through, 签到, 我的积分, and order
points at close (docs/growth.md)."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.points import chat, orders
from handlers.points.ledger import PointsLedger


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Provide the ledger (`points_of(services)`); nothing is read: chatter finds no cache to fill."""
    services.provide(PointsLedger(services.repo.engine))


FEATURE = Feature("points", modules=(chat,), node_hooks=orders.NODE_HOOKS, setup=setup)
