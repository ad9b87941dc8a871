"""The sale itself: 接龙 orders, stock, the leader's commands, the open/close nodes and the
限时返场 (reopen/reopen-close nodes)."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.selling import figures, leader, node_hooks, orders, remarks, reopen, stock
from handlers.selling.service import selling
from handlers.selling.shared import SellingShared


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Make the selling runtime now and load every group's ordering state in one query, so the
    order matcher decides from memory for every message from the first one on."""
    sell = selling(services)
    sell.load_statuses()
    services.shared_state.append(SellingShared(sell))


FEATURE = Feature(
    "selling",
    modules=(orders, remarks, stock, leader),
    node_runners={**stock.NODE_RUNNERS, **leader.NODE_RUNNERS, **reopen.NODE_RUNNERS},
    node_hooks={**node_hooks.NODE_HOOKS, **reopen.NODE_HOOKS},
    setup=setup,
    figures=figures.figures,
)
