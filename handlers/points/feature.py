"""Points (积分, issue 17): the ledger other growth loops pay through, 签到, 我的积分, order
points at close, and 积分抵扣 (redemption at close for members who opt in) (docs/growth.md)."""

from sqlalchemy.engine import Connection

from bot.campaign.nodes import NodeRun
from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.points import chat, orders, redeem, redeem_chat
from handlers.points.figures import figures
from handlers.points.ledger import PointsLedger
from handlers.selling.pricing import PointsPurse


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Provide the ledger (`points_of(services)`) and selling's points purse; nothing is read:
    chatter finds no cache to fill."""
    services.provide(PointsLedger(services.repo.engine))
    services.provide(redeem.RedeemPurse(services), PointsPurse)


def hook_close(run: NodeRun, conn: Connection) -> None:
    """Redemption first, then order points: this campaign's order points never pay for its orders."""
    redeem.hook_close(run, conn)
    orders.hook_close(run, conn)


FEATURE = Feature(
    "points",
    modules=(chat, redeem_chat),
    node_hooks={"close": hook_close, "reopen-close": redeem.hook_reopen_close},
    setup=setup,
    figures=figures,
)
