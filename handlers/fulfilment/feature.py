"""Fulfilment: from the close of a sale until the last box is picked up and paid for.

Two halves with one owner each: pickup (codes, clerks, 核销, pickup reminders) in
`pickup_parts`, money (dues, payments, payment reminders, the pickup-point lists) in
`payment_parts`. This module only composes them into one feature.
"""

from sqlalchemy.engine import Connection

from bot.campaign.nodes import NodeHook, NodeRun
from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.fulfilment import payment_parts, pickup_parts


def setup(services: Services, lifecycle: Lifecycle) -> None:
    pickup_parts.setup(services, lifecycle)
    payment_parts.setup(services, lifecycle)


def _both(kind: str) -> NodeHook:
    """One hook per node kind per feature: run the pickup half's, then the money half's."""
    hooks = [h for h in (pickup_parts.NODE_HOOKS.get(kind), payment_parts.NODE_HOOKS.get(kind)) if h]

    def hook(run: NodeRun, conn: Connection) -> None:
        for each in hooks:
            each(run, conn)

    return hook


FEATURE = Feature(
    "fulfilment",
    modules=(*pickup_parts.MODULES, *payment_parts.MODULES),
    node_hooks={kind: _both(kind) for kind in {*pickup_parts.NODE_HOOKS, *payment_parts.NODE_HOOKS}},
    setup=setup,
)
