"""The sale itself: 接龙 orders, stock, the leader's commands, and the open/close nodes."""

from bot.feature import Feature
from handlers.selling import leader, node_hooks, orders, stock

FEATURE = Feature(
    "selling",
    modules=(orders, stock, leader),
    node_runners={**stock.NODE_RUNNERS, **leader.NODE_RUNNERS},
    node_hooks=node_hooks.NODE_HOOKS,
)
